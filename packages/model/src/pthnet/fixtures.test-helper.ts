/** Test support: locating the read-only golden fixtures and reading their JSON tensors. */
import { readFileSync } from 'node:fs';

export { fixturesDir } from 'shared';

/** A fixture tensor as stored in expected.json: nested lists of float64 values. */
export interface JsonTensor {
  shape: number[];
  data: unknown;
}

export function flatten(tensor: JsonTensor): number[] {
  return (tensor.data as unknown[]).flat(Infinity) as number[];
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

export function maxAbs(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]!));
  return worst;
}
