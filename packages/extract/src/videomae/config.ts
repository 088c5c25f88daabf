import { ConfigError } from 'shared';
import {
  VIT_CUSTOM_DEFAULTS,
  DEFAULT_VIT_PRESET,
  VIT_IGNORED_CONFIG_KEYS,
  VIT_PRESET_NAMES,
  VIT_PRESETS,
  VIT_SHAPE_KEY_ALIASES,
} from './constants.js';
import type { VitConfig, VitConfigInput, VitNormalization, VitPresetName, VitShape } from './types.js';

const SHAPE_KEYS: readonly (keyof VitShape)[] = [
  'patchSize',
  'embedDim',
  'depth',
  'numHeads',
  'mlpRatio',
  'imageSize',
  'numFrames',
  'tubeletSize',
];

const CUSTOM_REQUIRED: readonly (keyof VitShape)[] = ['embedDim', 'depth', 'numHeads'];

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** How a key is named in errors: as the user wrote it, where they wrote it (see `ResolveVitOptions`). */
type KeyName = (key: string) => string;

const defaultKeyName: KeyName = (key) => `backbone.${key}`;

function fail(key: string, expected: string, got: unknown, name: KeyName = defaultKeyName): never {
  throw new ConfigError(`${name(key)}: expected ${expected}, got ${show(got)}`);
}

function isPresetName(value: unknown): value is VitPresetName {
  return typeof value === 'string' && (VIT_PRESET_NAMES as string[]).includes(value);
}

function readPreset(value: unknown, name: KeyName): VitPresetName | 'custom' {
  if (value === undefined) return DEFAULT_VIT_PRESET;
  if (value === 'custom' || isPresetName(value)) return value;
  return fail('preset', `one of ${[...VIT_PRESET_NAMES, 'custom'].join(', ')}`, value, name);
}

function positiveInteger(key: string, value: unknown, name: KeyName): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(key, 'a positive integer', value, name);
  return value;
}

function readNormalization(value: unknown, name: KeyName): VitNormalization | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value))
    return fail('normalize', 'null or { mean: [r, g, b], std: [r, g, b] }', value, name);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'mean' && key !== 'std') fail(`normalize.${key}`, 'no such key (only mean and std)', key, name);
  }
  const triple = (key: 'mean' | 'std'): [number, number, number] => {
    const entry = record[key];
    if (!Array.isArray(entry) || entry.length !== 3 || !entry.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return fail(`normalize.${key}`, 'three finite numbers (R, G, B)', entry, name);
    }
    if (key === 'std' && !entry.every((v) => (v as number) > 0)) fail('normalize.std', 'three positive numbers', entry, name);
    return [entry[0] as number, entry[1] as number, entry[2] as number];
  };
  return { mean: triple('mean'), std: triple('std') };
}

/** Reads the shape keys under any accepted spelling; the same key given twice under two names must agree. */
function readShapeOverrides(
  record: Record<string, unknown>,
  name: KeyName,
): { overrides: Partial<Record<keyof VitShape, unknown>>; spelling: Partial<Record<keyof VitShape, string>> } {
  const overrides: Partial<Record<keyof VitShape, unknown>> = {};
  const spelling: Partial<Record<keyof VitShape, string>> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'preset' || key === 'normalize' || VIT_IGNORED_CONFIG_KEYS.includes(key)) continue;
    const canonical = (SHAPE_KEYS as readonly string[]).includes(key) ? (key as keyof VitShape) : VIT_SHAPE_KEY_ALIASES[key];
    if (canonical === undefined) {
      fail(
        key,
        `one of preset, normalize, ${SHAPE_KEYS.join(', ')} (or an alias: ${Object.keys(VIT_SHAPE_KEY_ALIASES).join(', ')})`,
        key,
        name,
      );
    }
    const earlier = spelling[canonical];
    if (earlier !== undefined && overrides[canonical] !== value) {
      fail(key, `the same value as ${earlier} (${show(overrides[canonical])})`, value, name);
    }
    overrides[canonical] = value;
    spelling[canonical] = key;
  }
  return { overrides, spelling };
}

/** Options of `resolveVitConfig`. */
export interface ResolveVitOptions {
  /**
   * Where a key sits in the user's config, for errors: given the key as the user spelled it (`heads`), e.g.
   * `(key) => `extract.backbone.custom.${key}``. Default `backbone.<key>`.
   */
  keyName?: (key: string) => string;
}

/**
 * Validates a backbone config and fills its defaults: a preset name, or an object with an
 * optional preset (default `vit-g14`), shape overrides, and `normalize` (default none).
 * Throws a `ConfigError` "backbone.<key>: expected X, got Y" for the first bad key.
 */
export function resolveVitConfig(
  input: VitPresetName | 'custom' | VitConfigInput | Record<string, unknown> = {},
  options: ResolveVitOptions = {},
): VitConfig {
  const keyName = options.keyName ?? defaultKeyName;
  const record: Record<string, unknown> = typeof input === 'string' ? { preset: input } : (input as Record<string, unknown>);
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return fail('(config)', 'a preset name or an object', input, keyName);
  }
  const preset = readPreset(record['preset'], keyName);
  const shape = readShapeOverrides(record, keyName);
  const overrides = shape.overrides;
  // a shape key is named as the user spelled it (`heads`, not `numHeads`)
  const name: KeyName = (key) => keyName(shape.spelling[key as keyof VitShape] ?? key);
  if (preset === 'custom') {
    for (const key of CUSTOM_REQUIRED) {
      if (overrides[key] === undefined) fail(key, 'a positive integer (required when preset is custom)', undefined, name);
    }
  }
  const base: Partial<VitShape> = preset === 'custom' ? VIT_CUSTOM_DEFAULTS : VIT_PRESETS[preset];
  const pick = (key: keyof VitShape): unknown => overrides[key] ?? base[key];

  const patchSize = positiveInteger('patchSize', pick('patchSize'), name);
  const embedDim = positiveInteger('embedDim', pick('embedDim'), name);
  const depth = positiveInteger('depth', pick('depth'), name);
  const numHeads = positiveInteger('numHeads', pick('numHeads'), name);
  const imageSize = positiveInteger('imageSize', pick('imageSize'), name);
  const numFrames = positiveInteger('numFrames', pick('numFrames'), name);
  const tubeletSize = positiveInteger('tubeletSize', pick('tubeletSize'), name);
  const mlpRatio = pick('mlpRatio');
  if (typeof mlpRatio !== 'number' || !Number.isFinite(mlpRatio) || mlpRatio <= 0) fail('mlpRatio', 'a positive number', mlpRatio, name);

  if (embedDim % numHeads !== 0) fail('numHeads', `a divisor of ${name('embedDim')} (${embedDim})`, numHeads, name);
  if (imageSize % patchSize !== 0) fail('imageSize', `a multiple of ${name('patchSize')} (${patchSize})`, imageSize, name);
  if (numFrames % tubeletSize !== 0) fail('numFrames', `a multiple of ${name('tubeletSize')} (${tubeletSize})`, numFrames, name);
  // Python's int(dim * mlp_ratio) truncates the same float product.
  const mlpHidden = Math.floor(embedDim * mlpRatio);
  if (mlpHidden < 1) fail('mlpRatio', `at least 1 / embedDim (${1 / embedDim})`, mlpRatio, name);

  const gridSize = imageSize / patchSize;
  const tubeCount = numFrames / tubeletSize;
  return {
    preset,
    patchSize,
    embedDim,
    depth,
    numHeads,
    mlpRatio,
    imageSize,
    numFrames,
    tubeletSize,
    headDim: embedDim / numHeads,
    mlpHidden,
    gridSize,
    tubeCount,
    tokenCount: tubeCount * gridSize * gridSize,
    normalize: readNormalization(record['normalize'], keyName),
  };
}

/** True for an object that already went through `resolveVitConfig` (it carries the derived sizes). */
function isResolvedVitConfig(value: unknown): value is VitConfig {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return typeof record['tokenCount'] === 'number' && typeof record['mlpHidden'] === 'number' && 'normalize' in record;
}

/** The shape part of a config, as plain data (to send to a worker or write in a report). */
export function vitShapeOf(config: VitConfig): VitConfigInput {
  const shape: VitConfigInput = { preset: config.preset, normalize: config.normalize };
  for (const key of SHAPE_KEYS) (shape as Record<string, unknown>)[key] = config[key];
  return shape;
}

/** Accepts either a resolved config (re-validated from its shape) or anything `resolveVitConfig` takes. */
export function ensureVitConfig(input: VitConfig | VitPresetName | 'custom' | VitConfigInput | Record<string, unknown>): VitConfig {
  return isResolvedVitConfig(input) ? resolveVitConfig(vitShapeOf(input)) : resolveVitConfig(input);
}
