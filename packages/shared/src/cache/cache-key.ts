import { ConfigError } from '../errors/index.js';
import { CACHE_KEY_FORMAT_VERSION, HASH_SLOT } from './constants.js';
import { hashBytes } from './hash.js';
import type { CacheKeyInput, JsonValue } from './types.js';

/**
 * JSON text with object keys sorted at every depth, so that equal values always give equal
 * text whatever order their keys were built in. Keys whose value is `undefined` are left out
 * (as `JSON.stringify` does); array order is kept. Throws on values JSON cannot round-trip
 * (NaN, Infinity, bigint, functions), which would otherwise hash to misleading text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, []));
}

/** `at`: the keys and indices down to `value`, made into a `$.a[0].b` path only for a message (cache keys and identities are built by the hundred thousand). */
function canonicalize(value: unknown, at: Array<string | number>): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(`${pathOf(at)}: expected a finite number, got ${value}`);
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      at.push(i);
      const canonical = canonicalize(item === undefined ? null : item, at);
      at.pop();
      return canonical;
    });
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const sorted: Record<string, JsonValue> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      at.push(key);
      sorted[key] = canonicalize(item, at);
      at.pop();
    }
    return sorted;
  }
  const kind = value === undefined ? 'undefined' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new ConfigError(`${pathOf(at)}: expected a JSON value (string, finite number, boolean, null, array, plain object), got ${kind}`);
}

function pathOf(at: ReadonlyArray<string | number>): string {
  return `$${at.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')}`;
}

/**
 * The cache key of an artifact: sha256 (hex) of the canonical JSON of the stage, kind,
 * parameters, input content hashes and code version. Equal keys mean the artifact would come
 * out the same, so a done artifact with the current key can be skipped.
 */
export function cacheKey(input: CacheKeyInput): string {
  return hashBytes(cacheKeyText(input));
}

/**
 * `cacheKey` for many artifacts that differ in one input's hash alone (a feature import: one key
 * per file): the canonical text is built once, and each key is one sha256 of it with the hash
 * put in. Gives exactly `cacheKey({ ...input, inputs: { [role]: hash } })`.
 */
export function cacheKeyOfInput(input: Omit<CacheKeyInput, 'inputs'>, role: string): (hash: string) => string {
  const text = cacheKeyText({ ...input, inputs: { [role]: HASH_SLOT } });
  const at = text.indexOf(HASH_SLOT);
  if (at !== text.lastIndexOf(HASH_SLOT)) return (hash) => cacheKey({ ...input, inputs: { [role]: hash } });
  const before = text.slice(0, at);
  const after = text.slice(at + HASH_SLOT.length);
  return (hash) => {
    // a hex digest needs no escaping in JSON text; anything else goes the long way
    if (!/^[0-9a-f]+$/.test(hash)) return cacheKey({ ...input, inputs: { [role]: hash } });
    return hashBytes(before + hash + after);
  };
}

function cacheKeyText(input: CacheKeyInput): string {
  for (const key of ['stage', 'kind', 'codeVersion'] as const) {
    if (typeof input[key] !== 'string' || input[key] === '') {
      throw new ConfigError(`cacheKey: ${key}: expected a non-empty string, got ${JSON.stringify(input[key])}`);
    }
  }
  const inputs = input.inputs;
  const hashes = Array.isArray(inputs) ? inputs : Object.values(inputs);
  for (const hash of hashes) {
    if (typeof hash !== 'string' || hash === '') {
      throw new ConfigError(`cacheKey: inputs: expected content hashes as non-empty strings, got ${JSON.stringify(hash)}`);
    }
  }
  return canonicalJson({
    format: CACHE_KEY_FORMAT_VERSION,
    stage: input.stage,
    kind: input.kind,
    params: input.params,
    inputs: input.inputs,
    codeVersion: input.codeVersion,
  });
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
