import type { z } from 'zod';

/**
 * Turns zod issues into "key: expected X, got Y" lines, the one way every config in the workspace
 * (the pipeline config, a PTH-Net config inside it or inside a checkpoint) reports a bad value.
 */

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Turns zod's "Invalid input: expected number, received string" into "number". */
function expectation(issue: z.core.$ZodIssue): string {
  const m = /expected (.*?)(?:, received .*)?$/i.exec(issue.message);
  if (m) return m[1] ?? issue.message;
  return issue.message.replace(/^Invalid input:?\s*/i, '').replace(/^Too (small|big)/, (t) => t.toLowerCase());
}

export interface ConfigIssue {
  /** Dotted key as the user wrote it (array items by index), e.g. `train.model.n_embd`. */
  key: string;
  /** The issue path, for finding the value or the flag that set it. */
  path: readonly PropertyKey[];
  /** "expected X, got Y". */
  text: string;
}

export interface ConfigIssueOptions {
  /** Prepended to every key (e.g. `pthnet.` or `train.model.`). */
  keyPrefix?: string;
  /** The schema that was parsed: lets an unknown key list the keys allowed there and suggest the closest. */
  schema?: z.ZodType;
}

/** The zod definition fields the walker reads (zod 4 keeps them on `_zod.def`). */
interface ZodDefLike {
  type?: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDefLike {
  return (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

/** The keys an object schema allows at `path`, looking through defaults, optionals, arrays and tuples. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let cur: z.ZodType | undefined = schema;
  let rest = [...path];
  for (let guard = 0; cur !== undefined && guard < 100; guard++) {
    const def = defOf(cur);
    if (def.innerType !== undefined) cur = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) cur = def.in;
    else if (rest.length === 0) return def.shape === undefined ? undefined : Object.keys(def.shape);
    else {
      const [head, ...tail] = rest;
      rest = tail;
      if (def.shape !== undefined) cur = def.shape[String(head)];
      else if (def.element !== undefined) cur = def.element;
      else if (def.items !== undefined) cur = def.items[Number(head)];
      else return undefined;
    }
  }
  return undefined;
}

/** Edit distance, for "did you mean": a typo is one or two edits away. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function unknownKeyText(key: string, value: unknown, allowed: readonly string[] | undefined): string {
  if (allowed === undefined) return `unknown key (got ${describeValue(value)})`;
  const closest = [...allowed].sort((a, b) => distance(key, a) - distance(key, b))[0];
  const near = closest !== undefined && distance(key, closest) <= Math.max(2, Math.floor(key.length / 3));
  return `unknown key${near ? ` (did you mean "${closest}"?)` : ''}; expected one of ${allowed.join(', ')}`;
}

/** One entry per problem; unknown keys are listed one by one. */
export function configIssues(error: z.ZodError, input: unknown, options: ConfigIssueOptions = {}): ConfigIssue[] {
  const keyPrefix = options.keyPrefix ?? '';
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const parent = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      const container = valueAt(input, parent);
      const allowed = options.schema === undefined ? undefined : allowedKeys(options.schema, parent);
      for (const key of issue.keys) {
        const path = [...parent, key];
        out.push({ key: keyPrefix + path.map(String).join('.'), path, text: unknownKeyText(key, valueAt(container, [key]), allowed) });
      }
      continue;
    }
    const key = keyPrefix + parent.map(String).join('.');
    out.push({
      key: key === '' ? '(root)' : key,
      path: parent,
      text: `expected ${expectation(issue)}, got ${describeValue(valueAt(input, parent))}`,
    });
  }
  return out;
}
