// Public API of the `train` package.
