// Public API of the `eval` package.
