// Validators the layouts' option schemas are written with: each reads one key, fills its default
// and throws ConfigError "layout.<key>: expected X, got Y" for a bad value.
import path from 'node:path';
import { ConfigError } from 'shared';
import type { LayoutContext } from './types.js';

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function fail(key: string, expected: string, value: unknown): never {
  throw new ConfigError(`${key === '' ? 'layout' : `layout.${key}`}: expected ${expected}, got ${describe(value)}`);
}

export function nonEmptyString(record: Record<string, unknown>, key: string, fallback?: string): string {
  const value = record[key] ?? fallback;
  if (typeof value !== 'string' || value.trim() === '') fail(key, 'a non-empty string', value);
  return value;
}

/** A configured path: relative ones resolve against the context's working directory, when there is one. */
export function pathOption(record: Record<string, unknown>, key: string, context: LayoutContext | undefined): string {
  const value = nonEmptyString(record, key);
  return context === undefined ? value : path.resolve(context.cwd, value);
}

export function boolean(record: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = record[key] ?? fallback;
  if (typeof value !== 'boolean') fail(key, 'true or false', value);
  return value;
}

export function oneOf<T extends string>(record: Record<string, unknown>, key: string, allowed: readonly T[], fallback?: T): T {
  const value = record[key] ?? fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) fail(key, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

export function subsetOf<T extends string>(
  record: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  const value = record[key] ?? fallback;
  const expected = `a non-empty list of distinct values from ${allowed.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0 || new Set(value).size !== value.length) fail(key, expected, value);
  for (const item of value) if (!allowed.includes(item as T)) fail(key, expected, value);
  return [...(value as T[])];
}

export function stringList(record: Record<string, unknown>, key: string, fallback?: readonly string[]): string[] | undefined {
  const value = record[key] ?? fallback;
  if (value === undefined) return undefined;
  const expected = 'a non-empty list of distinct non-empty strings';
  if (!Array.isArray(value) || value.length === 0 || new Set(value).size !== value.length) fail(key, expected, value);
  for (const item of value) if (typeof item !== 'string' || item.trim() === '') fail(key, expected, value);
  return [...(value as string[])];
}

export function integerIn(record: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const value = record[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(key, `an integer ${min}..${max}`, value);
  return value;
}
