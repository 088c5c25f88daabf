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
import { access, open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError, writeFileAtomic } from 'shared';
import type { PthNetConfig } from '../../pthnet/types.js';
import { readSafetensors, safetensorsToFloat32, writeSafetensors } from '../safetensors/safetensors.js';
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

function checkMomentum(momentum: PthNetStateDict, stateDict: PthNetStateDict, path: string): void {
  for (const [key, buffer] of momentum) {
    const param = stateDict.get(key);
    if (!param) throw new CheckpointError(`${path}: momentum buffer for ${key}, which is not a parameter`, path);
    if (buffer.shape.length !== param.shape.length || buffer.shape.some((d, i) => d !== param.shape[i])) {
      throw new CheckpointError(
        `${path}: momentum buffer ${key}: expected shape ${JSON.stringify(param.shape)}, got ${JSON.stringify(buffer.shape)}`,
        path,
      );
    }
  }
}

/**
 * Writes `<base>.safetensors`, `<base>.optimizer.safetensors` (when `momentum` is given) and
 * `<base>.json`, each atomically, sidecar last. `basePath` may end in `.safetensors` or `.json`.
 * The state dict must match `config` exactly (keys and shapes).
 */
export async function savePthNetCheckpoint(basePath: string, input: SavePthNetCheckpointInput): Promise<SavedPthNetCheckpoint> {
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
    checkMomentum(input.momentum, input.stateDict, optimizerPath);
  }

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

function parseSidecar(raw: unknown, path: string): PthNetCheckpointSidecar {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new CheckpointError(`${path}: key ${key}: expected ${expected}, got ${JSON.stringify(got)}`, path);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('(root)', 'a JSON object', raw);
  const r = raw as Record<string, unknown>;
  if (r['format'] !== CHECKPOINT_FORMAT) fail('format', JSON.stringify(CHECKPOINT_FORMAT), r['format']);
  if (r['version'] !== CHECKPOINT_VERSION) fail('version', String(CHECKPOINT_VERSION), r['version']);
  if (typeof r['checkpointId'] !== 'string') fail('checkpointId', 'a string', r['checkpointId']);
  if (typeof r['weights'] !== 'string' || r['weights'].includes('/')) fail('weights', 'a file name', r['weights']);
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
    if (file !== undefined && (typeof file !== 'string' || file.includes('/'))) fail('optimizer.file', 'a file name', file);
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

async function readFloatTensors(path: string, prefix: string): Promise<{ dict: PthNetStateDict; metadata: Record<string, string> }> {
  const { tensors, metadata } = await readSafetensors(path);
  const dict: PthNetStateDict = new Map();
  for (const [name, tensor] of tensors) {
    if (!name.startsWith(prefix))
      throw new CheckpointError(`${path}: unexpected tensor ${name} (expected names starting with ${prefix})`, path);
    let data: Float32Array;
    try {
      data = safetensorsToFloat32(tensor);
    } catch (cause) {
      throw new CheckpointError(`${path}: ${(cause as Error).message}`, path, { cause });
    }
    dict.set(name.slice(prefix.length), { shape: tensor.shape, data });
  }
  return { dict, metadata };
}

async function loadSafetensorsCheckpoint(weightsPath: string, sidecarPath: string | undefined): Promise<LoadedPthNetCheckpoint> {
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
  const { dict: stateDict, metadata } = await readFloatTensors(weightsPath, '');
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
    checkPthNetShapes(shapesOf(stateDict), config, weightsPath);
  } else if (metadata[METADATA_CONFIG] !== undefined) {
    try {
      config = validateCheckpointConfig(JSON.parse(metadata[METADATA_CONFIG]), `${weightsPath} metadata ${METADATA_CONFIG}`);
    } catch (cause) {
      throw new CheckpointError(`${weightsPath}: bad ${METADATA_CONFIG} metadata: ${(cause as Error).message}`, weightsPath, { cause });
    }
    checkPthNetShapes(shapesOf(stateDict), config, weightsPath);
    warnings.push(`no sidecar beside ${weightsPath}: config taken from the file's metadata, no metrics or provenance`);
  } else {
    config = inferPthNetConfig(shapesOf(stateDict), weightsPath);
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
    const loaded = await readFloatTensors(optimizerPath, MOMENTUM_PREFIX);
    if (loaded.metadata[METADATA_CHECKPOINT_ID] !== sidecar.checkpointId) {
      throw new CheckpointError(
        `${optimizerPath}: checkpoint id ${loaded.metadata[METADATA_CHECKPOINT_ID] ?? '(none)'} does not match sidecar ${sidecarPath}'s ${sidecar.checkpointId}`,
        optimizerPath,
      );
    }
    checkMomentum(loaded.dict, stateDict, optimizerPath);
    momentum = inReferenceOrder(loaded.dict);
  }
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
}

async function readFloatTensor(checkpoint: TorchCheckpoint, ref: TensorRef): Promise<PthNetTensor> {
  if (!FLOAT_DTYPES.has(ref.dtype))
    throw new CheckpointError(`${checkpoint.path}: tensor ${ref.name}: expected a floating dtype, got ${ref.dtype}`, checkpoint.path);
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
    momentum.set(name, await readFloatTensor(checkpoint, buffer));
  }
  checkMomentum(momentum, stateDict, path);
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
    const stateDict: PthNetStateDict = new Map();
    for (const [name, ref] of checkpoint.findStateDict(['state_dict', 'module', 'model']))
      stateDict.set(name, await readFloatTensor(checkpoint, ref));
    const config = inferPthNetConfig(shapesOf(stateDict), path);
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
