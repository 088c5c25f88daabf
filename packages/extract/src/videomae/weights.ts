import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, formatByteSize, seededUniform } from 'shared';
import { vitParameterCount } from './flops.js';
import {
  VIT_IGNORED_WEIGHT_PREFIXES,
  VIT_RANDOM_WEIGHT_STD,
  VIT_IN_CHANNELS,
  WASM_HEAP_MAX_BYTES,
  VIT_PRESET_NAMES,
  VIT_PRESETS,
} from './constants.js';
import type {
  InferredVitShape,
  VitBlockWeights,
  VitConfig,
  VitHeadWeights,
  VitPresetName,
  VitTensorSource,
  VitWeightPlan,
  VitWeights,
} from './types.js';

function showShape(shape: readonly number[] | undefined): string {
  return shape === undefined ? 'missing' : `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return a !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Every key the features need, with its PyTorch shape, in the order the blocks use them. */
export function expectedVitShapes(config: VitConfig): Map<string, number[]> {
  const { embedDim: d, mlpHidden: hidden, patchSize: p, tubeletSize: t } = config;
  const shapes = new Map<string, number[]>([
    ['patch_embed.proj.weight', [d, VIT_IN_CHANNELS, t, p, p]],
    ['patch_embed.proj.bias', [d]],
  ]);
  for (let i = 0; i < config.depth; i++) {
    const b = `blocks.${i}.`;
    shapes.set(`${b}norm1.weight`, [d]);
    shapes.set(`${b}norm1.bias`, [d]);
    shapes.set(`${b}attn.q_bias`, [d]);
    shapes.set(`${b}attn.v_bias`, [d]);
    shapes.set(`${b}attn.qkv.weight`, [3 * d, d]);
    shapes.set(`${b}attn.proj.weight`, [d, d]);
    shapes.set(`${b}attn.proj.bias`, [d]);
    shapes.set(`${b}norm2.weight`, [d]);
    shapes.set(`${b}norm2.bias`, [d]);
    shapes.set(`${b}mlp.fc1.weight`, [hidden, d]);
    shapes.set(`${b}mlp.fc1.bias`, [hidden]);
    shapes.set(`${b}mlp.fc2.weight`, [d, hidden]);
    shapes.set(`${b}mlp.fc2.bias`, [d]);
  }
  shapes.set('fc_norm.weight', [d]);
  shapes.set('fc_norm.bias', [d]);
  return shapes;
}

/**
 * What a state dict's shapes tell: width, patch and tubelet from the patch embedding, depth
 * from the block indices, MLP width from `fc1`. The head count and the image size cannot be
 * told (the position table is a fixed sinusoid, not a stored tensor).
 */
export function inferVitShape(shapes: ReadonlyMap<string, readonly number[]>, source = 'state dict', path?: string): InferredVitShape {
  const patch = shapes.get('patch_embed.proj.weight');
  if (patch === undefined || patch.length !== 5) {
    const hint = [...shapes.keys()].some((k) => k.startsWith('encoder.'))
      ? ' (this looks like a VideoMAE pre-training checkpoint with encoder./decoder. keys; use a fine-tuned or distilled one)'
      : '';
    throw new CheckpointError(
      `${source}: patch_embed.proj.weight: expected a Conv3d weight [D, 3, tubelet, p, p], got ${showShape(patch)}${hint}`,
      path,
    );
  }
  const [embedDim, inChannels, tubeletSize, patchSize, patchWidth] = patch as [number, number, number, number, number];
  if (patchWidth !== patchSize) {
    throw new CheckpointError(
      `${source}: patch_embed.proj.weight: expected a square patch [D, 3, tubelet, p, p], got ${showShape(patch)}`,
      path,
    );
  }
  const blockIndices = new Set<number>();
  for (const key of shapes.keys()) {
    const match = /^blocks\.(\d+)\./.exec(key);
    if (match) blockIndices.add(Number(match[1]));
  }
  const depth = blockIndices.size;
  for (let i = 0; i < depth; i++) {
    if (!blockIndices.has(i)) {
      throw new CheckpointError(
        `${source}: blocks.${i}: expected blocks numbered 0..${depth - 1}, got indices ${[...blockIndices].sort((a, b) => a - b).join(', ')}`,
        path,
      );
    }
  }
  const fc1 = shapes.get('blocks.0.mlp.fc1.weight');
  if (depth > 0 && (fc1 === undefined || fc1.length !== 2)) {
    throw new CheckpointError(`${source}: blocks.0.mlp.fc1.weight: expected [hidden, ${embedDim}], got ${showShape(fc1)}`, path);
  }
  return { embedDim, patchSize, tubeletSize, inChannels, depth, mlpHidden: fc1?.[0] ?? 0 };
}

/** The presets whose stored shapes match (several can: head count is not in the shapes). */
export function matchingVitPresets(inferred: InferredVitShape): VitPresetName[] {
  return VIT_PRESET_NAMES.filter((name) => {
    const preset = VIT_PRESETS[name];
    return (
      preset.embedDim === inferred.embedDim &&
      preset.patchSize === inferred.patchSize &&
      preset.tubeletSize === inferred.tubeletSize &&
      preset.depth === inferred.depth &&
      Math.floor(preset.embedDim * preset.mlpRatio) === inferred.mlpHidden
    );
  });
}

/**
 * Checks a state dict against the config: every needed key present with its exact shape, and
 * nothing else but the ignored `head.*`. Throws a `CheckpointError` naming the key and both shapes.
 */
export function checkVitShapes(
  shapes: ReadonlyMap<string, readonly number[]>,
  config: VitConfig,
  source = 'state dict',
  path?: string,
): void {
  const expected = expectedVitShapes(config);
  const describeCheckpoint = (): string => {
    try {
      const inferred = inferVitShape(shapes, source, path);
      const presets = matchingVitPresets(inferred);
      return ` (the checkpoint has D ${inferred.embedDim}, patch ${inferred.patchSize}, tubelet ${inferred.tubeletSize}, depth ${inferred.depth}, MLP ${inferred.mlpHidden}${presets.length > 0 ? `: ${presets.join(' or ')}` : ''}; the config is ${config.preset})`;
    } catch {
      return '';
    }
  };
  for (const [key, shape] of expected) {
    const found = shapes.get(key);
    if (!sameShape(found, shape)) {
      throw new CheckpointError(
        `${source}: ${key}: expected shape ${showShape(shape)}, got ${showShape(found)}${describeCheckpoint()}`,
        path,
      );
    }
  }
  const unexpected = [...shapes.keys()].filter(
    (key) => !expected.has(key) && !VIT_IGNORED_WEIGHT_PREFIXES.some((prefix) => key.startsWith(prefix)),
  );
  if (unexpected.length > 0) {
    throw new CheckpointError(
      `${source}: ${unexpected[0]}: expected no such key in a ${config.depth}-block VideoMAE v2 ViT, got ${unexpected.length} unexpected key(s): ${unexpected.slice(0, 8).join(', ')}${describeCheckpoint()}`,
      path,
    );
  }
}

/**
 * Random weights in checkpoint layout (uniform with std 0.02, the reference init's scale; norms
 * at weight 1, bias 0), for benchmarks and tests that need no real checkpoint. Each key draws
 * from its own seed, so reading order does not matter.
 */
export function randomVitTensorSource(config: VitConfig, seed = 0): VitTensorSource {
  const shapes = expectedVitShapes(config);
  const keys = [...shapes.keys()];
  // Uniform on [-a, a] has std a / sqrt(3).
  const halfWidth = VIT_RANDOM_WEIGHT_STD * Math.sqrt(3);
  return {
    shapes,
    description: `random weights (seed ${seed})`,
    async read(key) {
      const shape = shapes.get(key);
      if (shape === undefined)
        throw new CheckpointError(`random weights: ${key}: expected one of the ${keys.length} ViT keys, got no such key`);
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (/norm\d?\.weight$/.test(key)) return values.fill(1);
      if (/norm\d?\.bias$/.test(key)) return values;
      const uniform = seededUniform(seed * 1_000_003 + keys.indexOf(key) + 1);
      for (let i = 0; i < values.length; i++) values[i] = (2 * uniform() - 1) * halfWidth;
      return values;
    },
    close: async () => undefined,
  };
}

/** `[rows, cols]` row-major to `[cols, rows]`. */
function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const source = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[source + c] as number;
  }
  return out;
}

/** Rows `[first, first + count)` of a row-major `[rows, cols]` matrix, transposed to `[cols, count]` and scaled. */
function transposedRows(values: Float32Array, cols: number, first: number, count: number, scale = 1): Float32Array {
  const out = new Float32Array(count * cols);
  for (let r = 0; r < count; r++) {
    const source = (first + r) * cols;
    for (let c = 0; c < cols; c++) out[c * count + r] = (values[source + c] as number) * scale;
  }
  return out;
}

/**
 * Conv3d weight `[D, 3, t, p, p]` to the matrix `[t * p * p * 3, D]` whose rows follow the
 * channels-last tube layout (frame, row, column, channel) the patch embedding builds.
 */
function patchKernelFromConv(values: Float32Array, config: VitConfig): Float32Array {
  const { embedDim: d, tubeletSize: t, patchSize: p } = config;
  const c = VIT_IN_CHANNELS;
  const out = new Float32Array(values.length);
  for (let o = 0; o < d; o++) {
    for (let ci = 0; ci < c; ci++) {
      for (let ti = 0; ti < t; ti++) {
        for (let y = 0; y < p; y++) {
          for (let x = 0; x < p; x++) {
            const source = (((o * c + ci) * t + ti) * p + y) * p + x;
            const row = ((ti * p + y) * p + x) * c + ci;
            out[row * d + o] = values[source] as number;
          }
        }
      }
    }
  }
  return out;
}

/** Bytes of the largest live activations of one window: the MLP's hidden tensors and their GELU temporaries (about 6 of `[tokens, hidden]`) and one head's scores. */
function vitActivationBytes(config: VitConfig): number {
  return 4 * (6 * config.tokenCount * config.mlpHidden + 2 * config.tokenCount * config.tokenCount);
}

/**
 * Bytes the forward pass needs at its peak on one window: the float32 weights plus the largest
 * live activations. A lower bound, used to refuse early what cannot fit.
 */
export function vitMemoryEstimate(config: VitConfig): number {
  return 4 * vitParameterCount(config) + vitActivationBytes(config);
}

/** Float32 bytes of the weights: those every window needs throughout (patch embedding, fc_norm), one block's, all of them. */
export function vitWeightBytes(config: VitConfig): { resident: number; block: number; total: number } {
  const { embedDim: d, mlpHidden: hidden } = config;
  const resident = 4 * (3 * config.tubeletSize * config.patchSize ** 2 * d + d + 2 * d);
  const block = 4 * (4 * d + 3 * d * d + 2 * d + d * d + d + 2 * d * hidden + hidden + d);
  return { resident, block, total: resident + config.depth * block };
}

/**
 * The smallest budget that can run the model: the resident weights and one block. A smaller one
 * is a `ConfigError` naming `extract.backbone.weightBudget`.
 */
export function checkWeightBudget(config: VitConfig, budget: number | null): void {
  if (budget === null) return;
  const { resident, block } = vitWeightBytes(config);
  if (budget < resident + block) {
    throw new ConfigError(
      `extract.backbone.weightBudget: expected at least ${resident + block} bytes (${formatByteSize(resident + block)}: the patch embedding, fc_norm and one of the ${config.depth} blocks of ${config.preset}), got ${budget} (${formatByteSize(budget)})`,
    );
  }
}

/**
 * Whether the weights are held whole or streamed block by block, on the backend in use
 * (`backend`, as `tf.getBackend()` names it). With a budget, streamed when the model exceeds it;
 * without one, streamed when the model would not fit the wasm heap (ViT-g/14), else held whole.
 */
export function planVitWeights(config: VitConfig, budget: number | null, backend: string): VitWeightPlan {
  checkWeightBudget(config, budget);
  const bytes = vitWeightBytes(config);
  const streamed = budget !== null ? bytes.total > budget : backend === 'wasm' && vitMemoryEstimate(config) > WASM_HEAP_MAX_BYTES;
  return { streamed, heldBytes: streamed ? bytes.resident + bytes.block : bytes.total, totalBytes: bytes.total, budget };
}

/**
 * Windows one streamed pass can carry on wasm: each keeps its `[tokens, D]` residual stream
 * while the blocks come through, beside the weights held and one window's activations.
 */
export function vitWindowsPerPass(config: VitConfig, plan: VitWeightPlan, backend: string): number {
  if (backend !== 'wasm') return Number.POSITIVE_INFINITY;
  const residual = 4 * config.tokenCount * config.embedDim;
  return Math.max(1, Math.floor((WASM_HEAP_MAX_BYTES - plan.heldBytes - vitActivationBytes(config)) / residual));
}

/**
 * The wasm backend addresses at most 4 GiB: ViT-g/14's 1.01 B float32 weights alone take 3.8 GiB.
 * Refuse before reading gigabytes of checkpoint rather than fail on an allocation midway.
 */
function assertFitsBackend(config: VitConfig, plan: VitWeightPlan): void {
  if (tf.getBackend() !== 'wasm') return;
  const needed = plan.heldBytes + vitActivationBytes(config);
  if (needed > WASM_HEAP_MAX_BYTES) {
    throw new ConfigError(
      `backbone: expected a model whose weights and activations fit the wasm backend's ${formatByteSize(WASM_HEAP_MAX_BYTES)} heap, got ${config.preset} needing about ${formatByteSize(needed)}; ` +
        `leave extract.backbone.weightBudget unset (or set it below ${formatByteSize(plan.totalBytes)}) to stream the weights block by block, or run it on the node or node-gpu backend (tfjs-node)`,
    );
  }
}

/** Frees the tensors of one block. */
export function disposeVitBlockWeights(block: VitBlockWeights): void {
  const { heads, ...rest } = block;
  tf.dispose(Object.values(rest));
  for (const head of heads) tf.dispose(Object.values(head));
}

/** Frees every tensor of the weights. */
export function disposeVitWeights(weights: VitWeights): void {
  tf.dispose([weights.patchKernel, weights.patchBias, weights.fcNormGamma, weights.fcNormBeta]);
  for (const block of weights.blocks) disposeVitBlockWeights(block);
}

/** Reads tensors through `read`, freeing what it made if a read fails; errors become `CheckpointError`s naming the source. */
async function loading<T>(source: VitTensorSource, read: (keep: <U extends tf.Tensor>(tensor: U) => U) => Promise<T>): Promise<T> {
  const created: tf.Tensor[] = [];
  try {
    return await read((tensor) => {
      created.push(tensor);
      return tensor;
    });
  } catch (error) {
    tf.dispose(created);
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(`${source.description}: cannot load the ViT weights: ${(error as Error).message}`, source.path, {
      cause: error,
    });
  }
}

/** The weights every window needs from start to end: the patch embedding and fc_norm. */
export function loadVitResidentWeights(source: VitTensorSource, config: VitConfig): Promise<Omit<VitWeights, 'blocks'>> {
  return loading(source, async (keep) => {
    const d = config.embedDim;
    const patchKernel = keep(
      tf.tensor2d(patchKernelFromConv(await source.read('patch_embed.proj.weight'), config), [
        3 * config.tubeletSize * config.patchSize ** 2,
        d,
      ]),
    );
    const patchBias = keep(tf.tensor1d(await source.read('patch_embed.proj.bias')));
    const fcNormGamma = keep(tf.tensor1d(await source.read('fc_norm.weight')));
    const fcNormBeta = keep(tf.tensor1d(await source.read('fc_norm.bias')));
    return { patchKernel, patchBias, fcNormGamma, fcNormBeta };
  });
}

/**
 * Block `index` in the forward pass's layouts on the active backend, read one tensor at a time
 * (each checkpoint copy is dropped once converted). The same for held and streamed weights, so
 * both compute with the same numbers.
 */
export function loadVitBlockWeights(source: VitTensorSource, config: VitConfig, index: number): Promise<VitBlockWeights> {
  return loading(source, async (keep) => {
    const { embedDim: d, mlpHidden: hidden, headDim } = config;
    const vector = async (key: string): Promise<tf.Tensor1D> => keep(tf.tensor1d(await source.read(key)));
    const kernel = async (key: string, rows: number, cols: number): Promise<tf.Tensor2D> =>
      keep(tf.tensor2d(transposeMatrix(await source.read(key), rows, cols), [cols, rows]));
    // The reference scales q after the projection; folding head_dim^-0.5 into the query
    // weights and bias is the same product and saves one pass over q per head.
    const queryScale = headDim ** -0.5;
    const b = `blocks.${index}.`;
    const norm1Gamma = await vector(`${b}norm1.weight`);
    const norm1Beta = await vector(`${b}norm1.bias`);
    // qkv.weight rows: all query channels, then keys, then values; head h owns headDim of each.
    const qkv = await source.read(`${b}attn.qkv.weight`);
    const qBias = await source.read(`${b}attn.q_bias`);
    const vBias = await source.read(`${b}attn.v_bias`);
    const heads: VitHeadWeights[] = [];
    for (let h = 0; h < config.numHeads; h++) {
      const first = h * headDim;
      const headKernel = (row: number, scale = 1): tf.Tensor2D =>
        keep(tf.tensor2d(transposedRows(qkv, d, row, headDim, scale), [d, headDim]));
      heads.push({
        queryKernel: headKernel(first, queryScale),
        queryBias: keep(tf.tensor1d(qBias.subarray(first, first + headDim).map((v) => v * queryScale))),
        keyKernel: headKernel(d + first),
        valueKernel: headKernel(2 * d + first),
        valueBias: keep(tf.tensor1d(vBias.slice(first, first + headDim))),
      });
    }
    return {
      norm1Gamma,
      norm1Beta,
      heads,
      projKernel: await kernel(`${b}attn.proj.weight`, d, d),
      projBias: await vector(`${b}attn.proj.bias`),
      norm2Gamma: await vector(`${b}norm2.weight`),
      norm2Beta: await vector(`${b}norm2.bias`),
      fc1Kernel: await kernel(`${b}mlp.fc1.weight`, hidden, d),
      fc1Bias: await vector(`${b}mlp.fc1.bias`),
      fc2Kernel: await kernel(`${b}mlp.fc2.weight`, d, hidden),
      fc2Bias: await vector(`${b}mlp.fc2.bias`),
    };
  });
}

/**
 * Checks the source against the config and the budget, and says how the weights will be held
 * on the active backend (see `planVitWeights`); refuses a model that cannot fit even so.
 */
export function prepareVitWeights(source: VitTensorSource, config: VitConfig, budget: number | null): VitWeightPlan {
  checkVitShapes(source.shapes, config, source.description, source.path);
  const plan = planVitWeights(config, budget, tf.getBackend());
  assertFitsBackend(config, plan);
  return plan;
}

/**
 * Reads the whole checked state dict, one tensor at a time, into the forward pass's layouts on
 * the active backend: the peak is the model's own weights plus one tensor.
 */
export async function vitWeightsFromSource(source: VitTensorSource, config: VitConfig): Promise<VitWeights> {
  // every block held at once: as if the budget had room for them all
  prepareVitWeights(source, config, Number.MAX_SAFE_INTEGER);
  const resident = await loadVitResidentWeights(source, config);
  const blocks: VitBlockWeights[] = [];
  try {
    for (let i = 0; i < config.depth; i++) blocks.push(await loadVitBlockWeights(source, config, i));
  } catch (error) {
    disposeVitWeights({ ...resident, blocks });
    throw error;
  }
  return { ...resident, blocks };
}
