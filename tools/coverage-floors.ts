/**
 * Coverage floors per package (percent), enforced by `pnpm test:coverage`. Set from a measured run
 * (rounded down to a whole percent): raise them when coverage rises, never lower them to let a change in.
 */
export const COVERAGE_FLOORS: Record<string, { lines: number; functions: number; branches: number; statements: number }> = {
  shared: { lines: 87, functions: 87, branches: 78, statements: 85 },
  model: { lines: 88, functions: 89, branches: 76, statements: 85 },
  extract: { lines: 91, functions: 92, branches: 76, statements: 89 },
  train: { lines: 93, functions: 97, branches: 78, statements: 90 },
  eval: { lines: 77, functions: 85, branches: 70, statements: 76 },
  cli: { lines: 21, functions: 25, branches: 18, statements: 20 },
};
