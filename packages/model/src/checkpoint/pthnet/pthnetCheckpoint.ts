/**
 * PTH-Net checkpoints on disk.
 *
 * Our format, for a checkpoint `<name>`:
 * - `<name>.safetensors`: the weights under the reference key names (no `module.` prefix),
 *   F32, so `model.load_state_dict(safetensors.torch.load_file(...))` works on the reference
 *   model with strict=True;
 * - `<name>.optimizer.safetensors` (only when momentum is saved): the SGD momentum buffers
 *   as `optimizer.momentum_buffer.<key>`. A second file rather than extra tensors in the
 *   first, so the weights file stays loadable by the reference code as it is;
 * - `<name>.json`: the sidecar (format, version, config, epoch, metrics, provenance, SGD
 *   hyperparameters), written last so its presence means the set is complete. A random
 *   checkpoint id in the sidecar and in both files' metadata catches a mixed-up set.
 *
 * `loadPthNetCheckpoint` also reads a bare `.safetensors` (config from its metadata or
 * inferred from the shapes) and reference `.pth` files (trainer dicts or bare state dicts).
 */
import { randomUUID } from 'node:crypto';
import { access, link, open, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError, writeFileAtomic } from 'shared';
import type { PthNetConfig } from '../../pthnet/types.js';
import type { SafetensorsFile } from '../safetensors/safetensors.js';
import { openSafetensors, safetensorsToFloat32, writeSafetensors } from '../safetensors/safetensors.js';
import type { SafetensorsTensor } from '../safetensors/types.js';
import { isTensorRef } from '../torch/globals.js';
import type { TorchCheckpoint } from '../torch/torchCheckpoint.js';
import { openTorchCheckpoint } from '../torch/torchCheckpoint.js';
import type { TensorRef } from '../torch/types.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  METADATA_CHECKPOINT_ID,
  METADATA_CONFIG,
  METADATA_EPOCH,
  METADATA_FORMAT,
  MOMENTUM_PREFIX,
  OPTIMIZER_SUFFIX,
  PREVIOUS_SUFFIX,
  SIDECAR_SUFFIX,
  TORCH_NON_METRIC_KEYS,
  WEIGHTS_SUFFIX,
} from './constants.js';
import { checkPthNetShapes, expectedPthNetShapes, inferPthNetConfig, validateCheckpointConfig } from './pthnetShapes.js';
import type {
  CheckpointProvenance,
  LoadedPthNetCheckpoint,
  PthNetCheckpointSidecar,
  PthNetStateDict,
  PthNetTensor,
  SavedPthNetCheckpoint,
  SavePthNetCheckpointInput,
  SgdHyperparameters,
} from './types.js';

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function shapesOf(dict: PthNetStateDict): Map<string, number[]> {
  return new Map([...dict].map(([key, t]) => [key, t.shape]));
}

/** `<dir>/<name>` from a base path that may carry one of our suffixes. */
function checkpointBase(path: string): string {
  for (const suffix of [OPTIMIZER_SUFFIX, WEIGHTS_SUFFIX, SIDECAR_SUFFIX]) if (path.endsWith(suffix)) return path.slice(0, -suffix.length);
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function checkTensorData(dict: PthNetStateDict, what: string, path: string): void {
  for (const [key, { shape, data }] of dict) {
    if (!(data instanceof Float32Array))
      throw new CheckpointError(`${path}: ${what} ${key}: expected a Float32Array, got ${(data as object)?.constructor?.name}`, path);
    if (data.length !== numel(shape))
      throw new CheckpointError(
        `${path}: ${what} ${key}: shape ${JSON.stringify(shape)} needs ${numel(shape)} values, got ${data.length}`,
        path,
      );
  }
}

function checkMetrics(metrics: Record<string, number>, path: string): void {
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new CheckpointError(`${path}: metrics.${key}: expected a finite number, got ${String(value)}`, path);
  }
}

type Shapes = ReadonlyMap<string, readonly number[]>;

/** Momentum buffers must match their parameters; checked on the shapes, before any buffer is read. */
function checkMomentumShapes(momentum: Shapes, params: Shapes, path: string): void {
  for (const [key, shape] of momentum) checkMomentumShape(key, shape, params, path);
}

function checkMomentumShape(key: string, shape: readonly number[], params: Shapes, path: string): void {
  const param = params.get(key);
  if (!param) throw new CheckpointError(`${path}: momentum buffer for ${key}, which is not a parameter`, path);
  if (shape.length !== param.length || shape.some((d, i) => d !== param[i])) {
    throw new CheckpointError(
      `${path}: momentum buffer ${key}: expected shape ${JSON.stringify(param)}, got ${JSON.stringify(shape)}`,
      path,
    );
  }
}

/** The sidecar of the set at `base` when the set is complete and of one save (ids checked on the headers only), else undefined. */
async function completeSet(base: string): Promise<PthNetCheckpointSidecar | undefined> {
  const sidecarPath = `${base}${SIDECAR_SUFFIX}`;
  try {
    const sidecar = parseSidecar(JSON.parse(await readFile(sidecarPath, 'utf8')), sidecarPath);
    const files = [sidecar.weights, ...(sidecar.optimizer?.file === undefined ? [] : [sidecar.optimizer.file])];
    for (const file of files) {
      const st = await openSafetensors(join(dirname(sidecarPath), file));
      const id = st.metadata[METADATA_CHECKPOINT_ID];
      await st.close();
      if (id !== sidecar.checkpointId) return undefined;
    }
    return sidecar;
  } catch {
    return undefined;
  }
}

/**
 * Keeps the complete set at `base` as `<base>.prev.*` (hard links, no copy) before a new save
 * replaces it, so that a kill between the new set's writes still leaves one complete set. An
 * incomplete set at `base` never replaces a kept one.
 */
async function keepPreviousSet(base: string): Promise<void> {
  const sidecar = await completeSet(base);
  if (sidecar === undefined) return;
  const folder = dirname(base);
  const prev = `${base}${PREVIOUS_SUFFIX}`;
  // the kept sidecar goes first and comes back last, so a kill in between leaves no kept set, never a mixed one
  await unlink(`${prev}${SIDECAR_SUFFIX}`).catch(() => undefined);
  const relink = async (file: string, to: string): Promise<string> => {
    await unlink(to).catch(() => undefined);
    await link(join(folder, file), to);
    return basename(to);
  };
  const weights = await relink(sidecar.weights, `${prev}${WEIGHTS_SUFFIX}`);
  const optimizerFile =
    sidecar.optimizer?.file === undefined ? undefined : await relink(sidecar.optimizer.file, `${prev}${OPTIMIZER_SUFFIX}`);
  const kept: PthNetCheckpointSidecar = {
    ...sidecar,
    weights,
    ...(sidecar.optimizer ? { optimizer: { ...sidecar.optimizer, ...(optimizerFile === undefined ? {} : { file: optimizerFile }) } } : {}),
  };
  const json = new TextEncoder().encode(`${JSON.stringify(kept, null, 2)}\n`);
  await writeFileAtomic(`${prev}${SIDECAR_SUFFIX}`, json);
}

/**
 * Writes `<base>.safetensors`, `<base>.optimizer.safetensors` (when `momentum` is given) and
 * `<base>.json`, each atomically, sidecar last. `basePath` may end in `.safetensors` or `.json`.
 * The state dict must match `config` exactly (keys and shapes). With `keepPrevious`, the set it
 * replaces stays loadable as `<base>.prev` until this one is complete: `loadPthNetCheckpoint`
 * falls back to it when a kill left the new set half written.
 */
export async function savePthNetCheckpoint(
  basePath: string,
  input: SavePthNetCheckpointInput,
  options: { keepPrevious?: boolean } = {},
): Promise<SavedPthNetCheckpoint> {
  const base = checkpointBase(basePath);
  const weightsPath = `${base}${WEIGHTS_SUFFIX}`;
  const sidecarPath = `${base}${SIDECAR_SUFFIX}`;
  const optimizerPath = `${base}${OPTIMIZER_SUFFIX}`;
  const config = validateCheckpointConfig(input.config, `${sidecarPath} config`);
  if (!Number.isInteger(input.epoch) || input.epoch < 0)
    throw new CheckpointError(`${sidecarPath}: epoch: expected a non-negative integer, got ${String(input.epoch)}`, sidecarPath);
  checkMetrics(input.metrics, sidecarPath);
  checkTensorData(input.stateDict, 'parameter', weightsPath);
  checkPthNetShapes(shapesOf(input.stateDict), config, weightsPath);
  if (input.momentum) {
    if (!input.optimizer)
      throw new CheckpointError(`${sidecarPath}: momentum buffers given without the optimizer hyperparameters they belong to`, sidecarPath);
    checkTensorData(input.momentum, 'momentum buffer', optimizerPath);
    checkMomentumShapes(shapesOf(input.momentum), shapesOf(input.stateDict), optimizerPath);
  }

  if (options.keepPrevious) await keepPreviousSet(base);
  const checkpointId = randomUUID();
  const weightsMetadata = {
    [METADATA_FORMAT]: CHECKPOINT_FORMAT,
    [METADATA_CHECKPOINT_ID]: checkpointId,
    [METADATA_EPOCH]: String(input.epoch),
    [METADATA_CONFIG]: JSON.stringify(config),
  };
  const toTensors = (dict: PthNetStateDict, prefix: string): SafetensorsTensor[] =>
    [...dict].map(([key, t]) => ({ name: `${prefix}${key}`, dtype: 'F32', shape: [...t.shape], data: t.data }));

  if (input.momentum) {
    await writeSafetensors(optimizerPath, toTensors(input.momentum, MOMENTUM_PREFIX), {
      [METADATA_FORMAT]: CHECKPOINT_FORMAT,
      [METADATA_CHECKPOINT_ID]: checkpointId,
    });
  }
  await writeSafetensors(weightsPath, toTensors(input.stateDict, ''), weightsMetadata);
  const provenance: CheckpointProvenance = { ...input.provenance, createdAt: input.provenance.createdAt ?? new Date().toISOString() };
  const sidecar: PthNetCheckpointSidecar = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    checkpointId,
    weights: basename(weightsPath),
    config,
    epoch: input.epoch,
    metrics: { ...input.metrics },
    provenance,
    ...(input.optimizer ? { optimizer: { ...input.optimizer, ...(input.momentum ? { file: basename(optimizerPath) } : {}) } } : {}),
  };
  const json = new TextEncoder().encode(`${JSON.stringify(sidecar, null, 2)}\n`);
  await writeFileAtomic(sidecarPath, json);
  // A momentum file left by an earlier save under this name no longer belongs to the set.
  if (!input.momentum) await unlink(optimizerPath).catch(() => undefined);
  return input.momentum ? { weightsPath, sidecarPath, optimizerPath } : { weightsPath, sidecarPath };
}

function parseSgd(raw: unknown, where: string): SgdHyperparameters {
  if (typeof raw !== 'object' || raw === null) throw new CheckpointError(`${where}: expected an object, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  const num = (key: string, fallback?: number): number => {
    const value = r[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new CheckpointError(`${where}: key ${key}: expected a number, got ${JSON.stringify(r[key])}`);
    return value;
  };
  return {
    type: 'SGD',
    lr: num('lr'),
    momentum: num('momentum'),
    weight_decay: num('weight_decay', 0),
    dampening: num('dampening', 0),
    nesterov: r['nesterov'] === true,
  };
}

/** A file name with no folder part: the sidecar may only point at files beside it, never `..` or a path. */
function isPlainFileName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value !== '.' && value !== '..' && !/[/\\\0]/.test(value);
}

function parseSidecar(raw: unknown, path: string): PthNetCheckpointSidecar {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new CheckpointError(`${path}: key ${key}: expected ${expected}, got ${JSON.stringify(got)}`, path);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('(root)', 'a JSON object', raw);
  const r = raw as Record<string, unknown>;
  if (r['format'] !== CHECKPOINT_FORMAT) fail('format', JSON.stringify(CHECKPOINT_FORMAT), r['format']);
  if (r['version'] !== CHECKPOINT_VERSION) fail('version', String(CHECKPOINT_VERSION), r['version']);
  if (typeof r['checkpointId'] !== 'string') fail('checkpointId', 'a string', r['checkpointId']);
  if (!isPlainFileName(r['weights'])) fail('weights', 'the name of a file beside the sidecar', r['weights']);
  if (typeof r['epoch'] !== 'number' || !Number.isInteger(r['epoch']) || r['epoch'] < 0)
    fail('epoch', 'a non-negative integer', r['epoch']);
  const metrics = r['metrics'] ?? {};
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) return fail('metrics', 'an object of numbers', metrics);
  for (const [key, value] of Object.entries(metrics)) if (typeof value !== 'number') fail(`metrics.${key}`, 'a number', value);
  const provenance = r['provenance'] ?? {};
  if (typeof provenance !== 'object' || provenance === null || Array.isArray(provenance)) fail('provenance', 'an object', provenance);
  let config: PthNetConfig;
  try {
    config = validateCheckpointConfig(r['config'], `${path} config`);
  } catch (cause) {
    throw new CheckpointError((cause as Error).message, path, { cause });
  }
  let optimizer: PthNetCheckpointSidecar['optimizer'];
  if (r['optimizer'] !== undefined) {
    const o = r['optimizer'] as Record<string, unknown>;
    const file = o?.['file'];
    if (file !== undefined && !isPlainFileName(file)) fail('optimizer.file', 'the name of a file beside the sidecar', file);
    optimizer = { ...parseSgd(o, `${path} optimizer`), ...(typeof file === 'string' ? { file } : {}) };
  }
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    checkpointId: r['checkpointId'] as string,
    weights: r['weights'] as string,
    config,
    epoch: r['epoch'] as number,
    metrics: metrics as Record<string, number>,
    provenance: provenance as CheckpointProvenance,
    ...(optimizer ? { optimizer } : {}),
  };
}

/** A safetensors file of float tensors named `<prefix><key>`, opened: its header read, no tensor yet. */
interface FloatTensorFile {
  file: SafetensorsFile;
  /** Shapes by key (prefix removed), from the header. */
  shapes: Map<string, number[]>;
  metadata: Record<string, string>;
  prefix: string;
}

async function openFloatTensors(path: string, prefix: string): Promise<FloatTensorFile> {
  const file = await openSafetensors(path);
  const shapes = new Map<string, number[]>();
  for (const [name, entry] of file.entries) {
    if (!name.startsWith(prefix)) {
      await file.close();
      throw new CheckpointError(`${path}: unexpected tensor ${name} (expected names starting with ${prefix})`, path);
    }
    shapes.set(name.slice(prefix.length), [...entry.shape]);
  }
  return { file, shapes, metadata: { ...file.metadata }, prefix };
}

/** Reads the tensors of `keys` (call only once their shapes have been checked). */
async function readFloatTensors(opened: FloatTensorFile, keys: Iterable<string>): Promise<PthNetStateDict> {
  const dict: PthNetStateDict = new Map();
  for (const key of keys) {
    const tensor = await opened.file.readTensor(opened.prefix + key);
    let data: Float32Array;
    try {
      data = safetensorsToFloat32(tensor);
    } catch (cause) {
      throw new CheckpointError(`${opened.file.path}: ${(cause as Error).message}`, opened.file.path, { cause });
    }
    dict.set(key, { shape: tensor.shape, data });
  }
  return dict;
}

/**
 * Loads our set (`sidecarPath` given) or a bare safetensors file. When the set is broken (a kill
 * between its writes, a truncated or missing file) and a kept previous set exists beside it
 * (`<base>.prev.json`, see `savePthNetCheckpoint`), that one is loaded instead, with a warning.
 */
async function loadSafetensorsCheckpoint(weightsPath: string, sidecarPath: string | undefined): Promise<LoadedPthNetCheckpoint> {
  try {
    return await loadSafetensorsSet(weightsPath, sidecarPath);
  } catch (error) {
    const prevSidecar = sidecarPath === undefined ? undefined : `${checkpointBase(sidecarPath)}${PREVIOUS_SUFFIX}${SIDECAR_SUFFIX}`;
    if (!(error instanceof CheckpointError) || prevSidecar === undefined || !(await exists(prevSidecar))) throw error;
    let previous: LoadedPthNetCheckpoint;
    try {
      previous = await loadSafetensorsSet(`${checkpointBase(prevSidecar)}${WEIGHTS_SUFFIX}`, prevSidecar);
    } catch {
      throw error;
    }
    previous.warnings.unshift(`${error.message}; loaded the previous complete save ${prevSidecar} (epoch ${previous.epoch}) instead`);
    return previous;
  }
}

async function loadSafetensorsSet(weightsPath: string, sidecarPath: string | undefined): Promise<LoadedPthNetCheckpoint> {
  let sidecar: PthNetCheckpointSidecar | undefined;
  if (sidecarPath) {
    let text: string;
    try {
      text = await readFile(sidecarPath, 'utf8');
    } catch (cause) {
      throw new CheckpointError(`cannot read checkpoint sidecar ${sidecarPath}: ${(cause as Error).message}`, sidecarPath, { cause });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      throw new CheckpointError(`${sidecarPath}: not valid JSON: ${(cause as Error).message}`, sidecarPath, { cause });
    }
    sidecar = parseSidecar(raw, sidecarPath);
    weightsPath = join(dirname(sidecarPath), sidecar.weights);
  }
  const weights = await openFloatTensors(weightsPath, '');
  let optimizer: FloatTensorFile | undefined;
  try {
    // Every shape is checked against the config (or the config inferred from them) before any
    // tensor is read, so a crafted header costs nothing but its own bytes.
    const { metadata, shapes } = weights;
    const warnings: string[] = [];
    let config: PthNetConfig;
    if (sidecar) {
      if (metadata[METADATA_CHECKPOINT_ID] !== sidecar.checkpointId) {
        throw new CheckpointError(
          `${weightsPath}: checkpoint id ${metadata[METADATA_CHECKPOINT_ID] ?? '(none)'} does not match sidecar ${sidecarPath}'s ${sidecar.checkpointId}: the files come from different saves`,
          weightsPath,
        );
      }
      config = sidecar.config;
      checkPthNetShapes(shapes, config, weightsPath);
    } else if (metadata[METADATA_CONFIG] !== undefined) {
      try {
        config = validateCheckpointConfig(JSON.parse(metadata[METADATA_CONFIG]), `${weightsPath} metadata ${METADATA_CONFIG}`);
      } catch (cause) {
        throw new CheckpointError(`${weightsPath}: bad ${METADATA_CONFIG} metadata: ${(cause as Error).message}`, weightsPath, { cause });
      }
      checkPthNetShapes(shapes, config, weightsPath);
      warnings.push(`no sidecar beside ${weightsPath}: config taken from the file's metadata, no metrics or provenance`);
    } else {
      config = inferPthNetConfig(shapes, weightsPath);
      warnings.push(
        `no sidecar beside ${weightsPath}: config inferred from the shapes (max_len, scale_factor, use_pos and the drop-path rate are defaults)`,
      );
    }

    // safetensors headers are sorted by name; consumers iterate parameters in reference order.
    const order = [...expectedPthNetShapes(config).keys()];
    const inReferenceOrder = (dict: PthNetStateDict): PthNetStateDict => {
      const out: PthNetStateDict = new Map();
      for (const key of order) {
        const tensor = dict.get(key);
        if (tensor) out.set(key, tensor);
      }
      return out;
    };

    let momentum: PthNetStateDict | undefined;
    if (sidecar?.optimizer?.file !== undefined) {
      // biome-ignore lint/style/noNonNullAssertion: sidecar is only ever set inside `if (sidecarPath)` above
      const optimizerPath = join(dirname(sidecarPath!), sidecar.optimizer.file);
      optimizer = await openFloatTensors(optimizerPath, MOMENTUM_PREFIX);
      if (optimizer.metadata[METADATA_CHECKPOINT_ID] !== sidecar.checkpointId) {
        throw new CheckpointError(
          `${optimizerPath}: checkpoint id ${optimizer.metadata[METADATA_CHECKPOINT_ID] ?? '(none)'} does not match sidecar ${sidecarPath}'s ${sidecar.checkpointId}`,
          optimizerPath,
        );
      }
      checkMomentumShapes(optimizer.shapes, shapes, optimizerPath);
      momentum = inReferenceOrder(await readFloatTensors(optimizer, optimizer.shapes.keys()));
    }
    const stateDict = await readFloatTensors(weights, shapes.keys());
    const epochFromMetadata = metadata[METADATA_EPOCH] !== undefined ? Number(metadata[METADATA_EPOCH]) : null;
    const result: LoadedPthNetCheckpoint = {
      stateDict: inReferenceOrder(stateDict),
      config,
      epoch: sidecar ? sidecar.epoch : Number.isInteger(epochFromMetadata) ? epochFromMetadata : null,
      metrics: sidecar ? { ...sidecar.metrics } : {},
      // biome-ignore lint/style/noNonNullAssertion: sidecar is only ever set inside `if (sidecarPath)` above
      source: sidecar ? { format: 'pthnet', path: weightsPath, sidecarPath: sidecarPath! } : { format: 'safetensors', path: weightsPath },
      warnings,
    };
    if (sidecar) result.provenance = sidecar.provenance;
    if (sidecar?.optimizer) {
      const { file: _file, ...hyper } = sidecar.optimizer;
      result.optimizer = hyper;
    }
    if (momentum) result.momentum = momentum;
    return result;
  } finally {
    await weights.file.close();
    await optimizer?.file.close();
  }
}

function checkFloatDtype(checkpoint: TorchCheckpoint, ref: TensorRef): void {
  if (!FLOAT_DTYPES.has(ref.dtype))
    throw new CheckpointError(`${checkpoint.path}: tensor ${ref.name}: expected a floating dtype, got ${ref.dtype}`, checkpoint.path);
}

async function readFloatTensor(checkpoint: TorchCheckpoint, ref: TensorRef): Promise<PthNetTensor> {
  checkFloatDtype(checkpoint, ref);
  const { shape, data } = await checkpoint.readTensor(ref);
  return { shape, data: data as Float32Array };
}

/**
 * Maps a PyTorch SGD `optimizer.state_dict()` onto parameter names. PyTorch numbers the
 * parameters by position across `param_groups[*].params`, in the order the optimizer got
 * them; the reference trainer passes `model.parameters()`, whose order is the state dict's
 * (PTH-Net has no buffers).
 */
async function torchMomentum(
  checkpoint: TorchCheckpoint,
  optimizer: unknown,
  stateDict: PthNetStateDict,
  warnings: string[],
): Promise<{ momentum?: PthNetStateDict; hyper?: SgdHyperparameters }> {
  const path = checkpoint.path;
  if (!(optimizer instanceof Map)) {
    warnings.push(`${path}: 'optimizer' is not an optimizer state dict; ignored`);
    return {};
  }
  const groups = optimizer.get('param_groups');
  const state = optimizer.get('state');
  if (!Array.isArray(groups) || groups.length === 0 || !(groups[0] instanceof Map) || !(state instanceof Map)) {
    warnings.push(`${path}: optimizer state has no param_groups/state; ignored`);
    return {};
  }
  const first = groups[0] as Map<string, unknown>;
  if (typeof first.get('momentum') !== 'number' || first.has('betas')) {
    warnings.push(`${path}: optimizer is not SGD (no 'momentum' hyperparameter); its state is ignored`);
    return {};
  }
  let hyper: SgdHyperparameters;
  try {
    hyper = parseSgd(Object.fromEntries(first), `${path} optimizer.param_groups[0]`);
  } catch (error) {
    warnings.push((error as Error).message);
    return {};
  }
  const order: unknown[] = groups.flatMap((g) =>
    g instanceof Map && Array.isArray(g.get('params')) ? (g.get('params') as unknown[]) : [],
  );
  const names = [...stateDict.keys()];
  if (order.length !== names.length) {
    warnings.push(`${path}: optimizer covers ${order.length} parameters but the state dict has ${names.length}; momentum ignored`);
    return { hyper };
  }
  const positionOf = new Map(order.map((id, position) => [id, position]));
  const momentum: PthNetStateDict = new Map();
  for (const [id, paramState] of state) {
    const position = positionOf.get(id);
    const name = position === undefined ? undefined : names[position];
    if (name === undefined)
      throw new CheckpointError(`${path}: optimizer state for parameter id ${String(id)}, which no param group lists`, path);
    const buffer = paramState instanceof Map ? paramState.get('momentum_buffer') : undefined;
    if (buffer === null || buffer === undefined) continue;
    if (!isTensorRef(buffer)) throw new CheckpointError(`${path}: optimizer momentum_buffer of ${name} is not a tensor`, path);
    checkMomentumShape(name, buffer.shape, shapesOf(stateDict), path);
    momentum.set(name, await readFloatTensor(checkpoint, buffer));
  }
  // Keep state-dict order, which the trainer relies on when it iterates parameters.
  const ordered: PthNetStateDict = new Map();
  for (const name of names) {
    const buffer = momentum.get(name);
    if (buffer) ordered.set(name, buffer);
  }
  return { momentum: ordered, hyper };
}

async function loadTorchCheckpoint(path: string): Promise<LoadedPthNetCheckpoint> {
  const checkpoint = await openTorchCheckpoint(path);
  try {
    const refs = checkpoint.findStateDict(['state_dict', 'module', 'model']);
    // Keys, dtypes and shapes are checked on the refs, before any tensor is read.
    for (const ref of refs.values()) checkFloatDtype(checkpoint, ref);
    const config = inferPthNetConfig(new Map([...refs].map(([name, ref]) => [name, [...ref.shape]])), path);
    const stateDict: PthNetStateDict = new Map();
    for (const [name, ref] of refs) stateDict.set(name, await readFloatTensor(checkpoint, ref));
    const warnings: string[] = [];
    const root = checkpoint.root;
    let epoch: number | null = null;
    const metrics: Record<string, number> = {};
    let optimizerState: Awaited<ReturnType<typeof torchMomentum>> = {};
    if (root instanceof Map && !(root.size > 0 && [...root.values()].every(isTensorRef))) {
      const rawEpoch = root.get('epoch');
      if (typeof rawEpoch === 'number' && Number.isInteger(rawEpoch)) epoch = rawEpoch;
      for (const [key, value] of root) {
        if (typeof key !== 'string' || TORCH_NON_METRIC_KEYS.includes(key)) continue;
        if (typeof value === 'number' && Number.isFinite(value)) metrics[key] = value;
        else if (isTensorRef(value) && FLOAT_DTYPES.has(value.dtype) && value.shape.reduce((a, b) => a * b, 1) === 1) {
          const scalar = (await readFloatTensor(checkpoint, value)).data[0];
          if (scalar !== undefined && Number.isFinite(scalar)) metrics[key] = scalar;
        }
      }
      if (root.has('optimizer')) optimizerState = await torchMomentum(checkpoint, root.get('optimizer'), stateDict, warnings);
    }
    const result: LoadedPthNetCheckpoint = {
      stateDict,
      config,
      epoch,
      metrics,
      provenance: { source: path },
      source: { format: 'torch', path },
      warnings,
    };
    if (optimizerState.hyper) result.optimizer = optimizerState.hyper;
    if (optimizerState.momentum) result.momentum = optimizerState.momentum;
    return result;
  } finally {
    await checkpoint.close();
  }
}

async function startsWithZipMagic(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r');
    try {
      const head = new Uint8Array(2);
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      return bytesRead === 2 && head[0] === 0x50 && head[1] === 0x4b;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/**
 * Loads a PTH-Net checkpoint from any of: our `<name>.safetensors` / `<name>.json` (or the
 * bare `<name>`), a safetensors file without sidecar, or a reference `.pth` (the trainer's
 * dict with `state_dict`/`optimizer`/`best_acc`, or a bare state dict). Keys, shapes and
 * the config are checked; SGD momentum is mapped to parameter names when present.
 */
export async function loadPthNetCheckpoint(path: string): Promise<LoadedPthNetCheckpoint> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) {
    throw new CheckpointError(`${path}: expected a checkpoint file, got a folder`, path);
  }
  if (path.endsWith(SIDECAR_SUFFIX)) return loadSafetensorsCheckpoint(`${checkpointBase(path)}${WEIGHTS_SUFFIX}`, path);
  if (path.endsWith(WEIGHTS_SUFFIX) && !path.endsWith(OPTIMIZER_SUFFIX)) {
    const sidecarPath = `${checkpointBase(path)}${SIDECAR_SUFFIX}`;
    return loadSafetensorsCheckpoint(path, (await exists(sidecarPath)) ? sidecarPath : undefined);
  }
  if (await exists(path)) {
    if (await startsWithZipMagic(path)) return loadTorchCheckpoint(path);
    if (path.endsWith('.pth') || path.endsWith('.pt')) return loadTorchCheckpoint(path);
    return loadSafetensorsCheckpoint(path, undefined);
  }
  if (await exists(`${path}${SIDECAR_SUFFIX}`)) return loadSafetensorsCheckpoint(`${path}${WEIGHTS_SUFFIX}`, `${path}${SIDECAR_SUFFIX}`);
  if (await exists(`${path}${WEIGHTS_SUFFIX}`)) return loadSafetensorsCheckpoint(`${path}${WEIGHTS_SUFFIX}`, undefined);
  throw new CheckpointError(
    `no checkpoint at ${path} (looked for the file itself, ${path}${SIDECAR_SUFFIX} and ${path}${WEIGHTS_SUFFIX})`,
    path,
  );
}
