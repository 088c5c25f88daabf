import { ConfigError } from 'shared';
import { DEFAULT_LABELS, DEFAULT_SOURCE_ROLES, DEFAULT_SPLITS, DFEW_FOLD_COUNT } from './constants.js';
import type {
  DfewLayoutConfig,
  Ferv39kLayoutConfig,
  GenericLayoutConfig,
  LayoutConfig,
  LayoutName,
  ReferenceListFile,
  ReferenceListLayoutConfig,
  SourceKind,
  SourceRole,
} from './types.js';

const LAYOUT_NAMES: readonly LayoutName[] = ['ferv39k', 'dfew', 'reference-list', 'generic'];

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(key: string, expected: string, value: unknown): never {
  throw new ConfigError(`${key === '' ? 'layout' : `layout.${key}`}: expected ${expected}, got ${describe(value)}`);
}

function nonEmptyString(record: Record<string, unknown>, key: string, fallback?: string): string {
  const value = record[key] ?? fallback;
  if (typeof value !== 'string' || value.trim() === '') fail(key, 'a non-empty string', value);
  return value;
}

function boolean(record: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = record[key] ?? fallback;
  if (typeof value !== 'boolean') fail(key, 'true or false', value);
  return value;
}

function oneOf<T extends string>(record: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const value = record[key] ?? fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) fail(key, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

function subsetOf<T extends string>(record: Record<string, unknown>, key: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const value = record[key] ?? fallback;
  const expected = `a non-empty list of distinct values from ${allowed.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0 || new Set(value).size !== value.length) fail(key, expected, value);
  for (const item of value) if (!allowed.includes(item as T)) fail(key, expected, value);
  return [...(value as T[])];
}

function stringList(record: Record<string, unknown>, key: string, fallback?: readonly string[]): string[] | undefined {
  const value = record[key] ?? fallback;
  if (value === undefined) return undefined;
  const expected = 'a non-empty list of distinct non-empty strings';
  if (!Array.isArray(value) || value.length === 0 || new Set(value).size !== value.length) fail(key, expected, value);
  for (const item of value) if (typeof item !== 'string' || item.trim() === '') fail(key, expected, value);
  return [...(value as string[])];
}

function validateFerv39k(record: Record<string, unknown>): Ferv39kLayoutConfig {
  return {
    layout: 'ferv39k',
    root: nonEmptyString(record, 'root'),
    splits: subsetOf(record, 'splits', DEFAULT_SPLITS, DEFAULT_SPLITS),
    sources: subsetOf<SourceRole>(record, 'sources', DEFAULT_SOURCE_ROLES, DEFAULT_SOURCE_ROLES),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

function validateDfew(record: Record<string, unknown>): DfewLayoutConfig {
  const fold = record['fold'] ?? 1;
  if (typeof fold !== 'number' || !Number.isInteger(fold) || fold < 1 || fold > DFEW_FOLD_COUNT) {
    fail('fold', `an integer 1..${DFEW_FOLD_COUNT}`, fold);
  }
  return {
    layout: 'dfew',
    root: nonEmptyString(record, 'root'),
    fold,
    splits: subsetOf(record, 'splits', DEFAULT_SPLITS, DEFAULT_SPLITS),
    sources: subsetOf<SourceRole>(record, 'sources', DEFAULT_SOURCE_ROLES, DEFAULT_SOURCE_ROLES),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

function validateReferenceList(record: Record<string, unknown>): ReferenceListLayoutConfig {
  const lists = record['lists'];
  const expected = 'a non-empty list of { split, path } with distinct splits';
  if (!Array.isArray(lists) || lists.length === 0) fail('lists', expected, lists);
  const files: ReferenceListFile[] = lists.map((entry: unknown) => {
    const item = entry as Record<string, unknown> | null;
    if (
      typeof item !== 'object' ||
      item === null ||
      typeof item['split'] !== 'string' ||
      typeof item['path'] !== 'string' ||
      item['split'] === '' ||
      item['path'] === ''
    ) {
      fail('lists', expected, lists);
    }
    return { split: item['split'] as string, path: item['path'] as string };
  });
  if (new Set(files.map((file) => file.split)).size !== files.length) fail('lists', expected, lists);
  return {
    layout: 'reference-list',
    root: nonEmptyString(record, 'root'),
    lists: files,
    dataset: nonEmptyString(record, 'dataset', 'ferv39k'),
    labels: stringList(record, 'labels', DEFAULT_LABELS) as string[],
    sourceRole: oneOf<SourceRole>(record, 'sourceRole', ['raw', 'face'], 'face'),
    sourceKind: oneOf<SourceKind>(record, 'sourceKind', ['frames', 'video'], 'frames'),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

function validateGeneric(record: Record<string, unknown>): GenericLayoutConfig {
  const config: GenericLayoutConfig = {
    layout: 'generic',
    root: nonEmptyString(record, 'root'),
    dataset: nonEmptyString(record, 'dataset', 'generic'),
    sourceRole: oneOf<SourceRole>(record, 'sourceRole', ['raw', 'face'], 'raw'),
  };
  const splits = stringList(record, 'splits');
  const labels = stringList(record, 'labels');
  if (splits) config.splits = splits;
  if (labels) config.labels = labels;
  return config;
}

/** Fills defaults and checks every key; throws ConfigError "layout.<key>: expected X, got Y". */
export function validateLayoutConfig(input: unknown): LayoutConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('', 'an object', input);
  const record = input as Record<string, unknown>;
  const layout = oneOf(record, 'layout', LAYOUT_NAMES, undefined as unknown as LayoutName);
  switch (layout) {
    case 'ferv39k':
      return validateFerv39k(record);
    case 'dfew':
      return validateDfew(record);
    case 'reference-list':
      return validateReferenceList(record);
    case 'generic':
      return validateGeneric(record);
  }
}
