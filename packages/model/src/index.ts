// Public API of the `model` package.
