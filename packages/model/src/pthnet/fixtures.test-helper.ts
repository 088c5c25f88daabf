/** Test support: locating the read-only golden fixtures and reading their JSON tensors. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding pnpm-workspace.yaml, found by walking up from this file. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above the test file');
    dir = parent;
  }
  return dir;
}

export function fixturesDir(): string {
  return path.resolve(repoRoot(), '../shared/fixtures');
}

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
