// Public API of the `extract` package.
