/**
 * Coverage floors per package (percent), enforced by `pnpm test:coverage`. Set from a measured run
 * (rounded down to a whole percent): raise them when coverage rises, never lower them to let a change in.
 */
export const COVERAGE_FLOORS: Record<string, { lines: number; functions: number; branches: number; statements: number }> = {
  shared: { lines: 92, functions: 93, branches: 83, statements: 90 },
  model: { lines: 88, functions: 89, branches: 75, statements: 85 },
  extract: { lines: 92, functions: 92, branches: 77, statements: 89 },
  train: { lines: 94, functions: 97, branches: 79, statements: 91 },
  eval: { lines: 82, functions: 87, branches: 73, statements: 80 },
  cli: { lines: 21, functions: 25, branches: 18, statements: 20 },
};
