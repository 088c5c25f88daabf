import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, PthnetError } from 'shared';
import { VIT_IN_CHANNELS, VIT_LAYER_NORM_EPS } from './constants.js';
import { sinusoidPositionTable } from './position.js';
import { checkWindowBatch, preprocessWindow } from './preprocess.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitBlockWeights, VitConfig, VitMemoryStats, VitModel, VitTensorSource, VitWeightPlan, VitWeights } from './types.js';
import {
  disposeVitBlockWeights,
  disposeVitWeights,
  loadVitBlockWeights,
  loadVitResidentWeights,
  prepareVitWeights,
  vitWeightsFromSource,
  vitWindowsPerPass,
} from './weights.js';

function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  // Biased variance over the last axis, as torch.nn.LayerNorm.
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, VIT_LAYER_NORM_EPS))), gamma), beta);
}

function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/**
 * Conv3d with kernel = stride = (t, p, p) is a matrix product over non-overlapping tubes:
 * regroup `[T, H, W, 3]` into one row per tube, tokens in (time, row, column) order.
 */
function embedTubes(frames: tf.Tensor4D, weights: Pick<VitWeights, 'patchKernel' | 'patchBias'>, config: VitConfig): tf.Tensor2D {
  const { tubeCount, tubeletSize: t, gridSize: g, patchSize: p } = config;
  const tubes = tf.transpose(tf.reshape(frames, [tubeCount, t, g, p, g, p * VIT_IN_CHANNELS]), [0, 2, 4, 1, 3, 5]);
  const rows = tf.reshape(tubes, [config.tokenCount, t * p * p * VIT_IN_CHANNELS]);
  return tf.fused.matMul({ a: rows, b: weights.patchKernel, bias: weights.patchBias }) as tf.Tensor2D;
}

/**
 * Multi-head self-attention of one window's normalised tokens `[N, D]`. Every product is a plain
 * 2-D matMul: on wasm only those reach XNNPACK (batched or transposed ones take a ~10x slower
 * loop), and wasm's Slice and Gather are slow copies, so each head's q, k, v come from their own
 * weight slices instead of being cut out of one qkv product. Scores are freed head by head.
 */
function attend(normed: tf.Tensor2D, w: VitBlockWeights): tf.Tensor2D {
  const heads = w.heads.map((head) =>
    tf.tidy(() => {
      const query = tf.fused.matMul({ a: normed, b: head.queryKernel, bias: head.queryBias });
      const keyT = tf.transpose(tf.matMul(normed, head.keyKernel));
      const value = tf.fused.matMul({ a: normed, b: head.valueKernel, bias: head.valueBias });
      return tf.matMul(tf.softmax(tf.matMul(query, keyT)), value) as tf.Tensor2D;
    }),
  );
  return tf.concat(heads, 1);
}

/** One block on one window's tokens: `x += proj(attn(norm1(x)))`, `x += fc2(gelu(fc1(norm2(x))))`. */
function block(x: tf.Tensor2D, w: VitBlockWeights): tf.Tensor2D {
  const attended = tf.tidy(
    () =>
      tf.add(
        x,
        tf.fused.matMul({ a: attend(layerNorm(x, w.norm1Gamma, w.norm1Beta) as tf.Tensor2D, w), b: w.projKernel, bias: w.projBias }),
      ) as tf.Tensor2D,
  );
  return tf.tidy(() => {
    const hidden = geluErf(
      tf.fused.matMul({ a: layerNorm(attended, w.norm2Gamma, w.norm2Beta) as tf.Tensor2D, b: w.fc1Kernel, bias: w.fc1Bias }),
    );
    const out = tf.add(attended, tf.fused.matMul({ a: hidden as tf.Tensor2D, b: w.fc2Kernel, bias: w.fc2Bias })) as tf.Tensor2D;
    attended.dispose();
    return out;
  });
}

/** What both models share: the position table and the steps of one window before and after the blocks. */
function windowSteps(config: VitConfig, resident: Omit<VitWeights, 'blocks'>) {
  const positions = tf.tensor2d(sinusoidPositionTable(config.tokenCount, config.embedDim), [config.tokenCount, config.embedDim]);
  return {
    positions,
    /** Tokens of window `index` with their positions: `[tokens, D]`. */
    embed: (windows: VideoWindowBatch, index: number): tf.Tensor2D =>
      tf.tidy(() => tf.add(embedTubes(preprocessWindow(windows, index, config), resident, config), positions) as tf.Tensor2D),
    /** `fc_norm(mean over tokens)`. */
    finish: (x: tf.Tensor2D): tf.Tensor1D =>
      tf.tidy(() => layerNorm(tf.mean(x, 0), resident.fcNormGamma, resident.fcNormBeta) as tf.Tensor1D),
  };
}

/** Copies one feature row into `out` at row `row` and frees it. */
async function collect(features: tf.Tensor1D, out: Float32Array, row: number, width: number): Promise<void> {
  try {
    out.set((await features.data()) as Float32Array, row * width);
  } finally {
    features.dispose();
  }
}

function bytesOf(tensors: readonly tf.Tensor[]): number {
  return tensors.reduce((sum, t) => sum + 4 * t.size, 0);
}

function blockTensors({ heads, ...rest }: VitBlockWeights): tf.Tensor[] {
  return [...Object.values(rest), ...heads.flatMap((head) => Object.values(head))];
}

function residentTensors(w: Omit<VitWeights, 'blocks'>): tf.Tensor[] {
  return [w.patchKernel, w.patchBias, w.fcNormGamma, w.fcNormBeta];
}

function assertLive(disposed: boolean): void {
  if (disposed) throw new PthnetError('DISPOSED', 'extractFeatures: expected a live model, got one that was disposed');
}

/**
 * The VideoMAE v2 ViT as a feature extractor: windows of 16 RGB frames in, `fc_norm(mean over
 * tokens)` out, with every weight held on the backend. Takes ownership of `weights` (freed by
 * `dispose`). Inference only.
 */
export function createVitModel(config: VitConfig, weights: VitWeights): VitModel {
  if (weights.blocks.length !== config.depth) {
    throw new ConfigError(
      `createVitModel: weights.blocks: expected ${config.depth} blocks (the config's depth), got ${weights.blocks.length}`,
    );
  }
  const steps = windowSteps(config, weights);
  const weightBytes = bytesOf([...residentTensors(weights), ...weights.blocks.flatMap(blockTensors)]);
  const stats: VitMemoryStats = { streamed: false, weightBytesPeak: weightBytes, tensorBytesPeak: 0, weightBytesLoaded: weightBytes };
  let disposed = false;

  /**
   * One window end to end. Windows go through one at a time: batching them buys nothing on
   * wasm (a [N, D] product already runs at full speed) and splitting a batched tensor back
   * into windows would need the slow Slice; it also keeps the peak memory to one window's.
   */
  function forwardWindow(windows: VideoWindowBatch, index: number): tf.Tensor1D {
    return tf.tidy(() => {
      let x = steps.embed(windows, index);
      for (const blockWeights of weights.blocks) {
        const next = block(x, blockWeights);
        x.dispose();
        x = next;
        stats.tensorBytesPeak = Math.max(stats.tensorBytesPeak, tf.memory().numBytes);
      }
      return steps.finish(x);
    });
  }

  return {
    config,
    weightPlan: { streamed: false, heldBytes: weightBytes, totalBytes: weightBytes, budget: null },
    async extractFeatures(windows) {
      assertLive(disposed);
      checkWindowBatch(windows, config);
      const out = new Float32Array(windows.shape[0] * config.embedDim);
      for (let b = 0; b < windows.shape[0]; b++) await collect(forwardWindow(windows, b), out, b, config.embedDim);
      return out;
    },
    memoryStats: () => ({ ...stats }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      steps.positions.dispose();
      disposeVitWeights(weights);
    },
  };
}

/**
 * The same network with its blocks streamed: only the patch embedding and fc_norm stay on the
 * backend; each call brings every block in from `source` for its turn, runs it on every window
 * of the pass, and frees it before the next. Each window goes through exactly the operations of
 * `createVitModel`, so the features are the same bit for bit; the price is reading the weights
 * once per pass (a batch of windows, up to `windowsPerPass`), which batching amortises. The
 * source stays open until `dispose` (which closes it when `closeSource`).
 */
function createStreamedVitModel(
  config: VitConfig,
  resident: Omit<VitWeights, 'blocks'>,
  source: VitTensorSource,
  options: { plan: VitWeightPlan; windowsPerPass: number; closeSource: boolean },
): VitModel {
  const steps = windowSteps(config, resident);
  const residentBytes = bytesOf(residentTensors(resident));
  const stats: VitMemoryStats = { streamed: true, weightBytesPeak: residentBytes, tensorBytesPeak: 0, weightBytesLoaded: residentBytes };
  const sample = (): void => {
    stats.tensorBytesPeak = Math.max(stats.tensorBytesPeak, tf.memory().numBytes);
  };
  let disposed = false;
  // One pass at a time: two interleaved passes would hold two blocks, past the budget.
  let turn: Promise<unknown> = Promise.resolve();

  async function pass(windows: VideoWindowBatch, first: number, count: number, out: Float32Array): Promise<void> {
    let xs: tf.Tensor2D[] = [];
    try {
      for (let j = 0; j < count; j++) xs.push(steps.embed(windows, first + j));
      for (let i = 0; i < config.depth; i++) {
        assertLive(disposed);
        const weights = await loadVitBlockWeights(source, config, i);
        try {
          const bytes = bytesOf(blockTensors(weights));
          stats.weightBytesLoaded += bytes;
          stats.weightBytesPeak = Math.max(stats.weightBytesPeak, residentBytes + bytes);
          sample();
          xs = xs.map((x) => {
            const next = block(x, weights);
            x.dispose();
            return next;
          });
          sample();
        } finally {
          disposeVitBlockWeights(weights);
        }
      }
      for (const [j, x] of xs.entries()) await collect(steps.finish(x), out, first + j, config.embedDim);
    } finally {
      tf.dispose(xs);
    }
  }

  return {
    config,
    weightPlan: options.plan,
    extractFeatures(windows) {
      const run = async (): Promise<Float32Array> => {
        assertLive(disposed);
        checkWindowBatch(windows, config);
        const batch = windows.shape[0];
        const out = new Float32Array(batch * config.embedDim);
        for (let first = 0; first < batch; first += options.windowsPerPass) {
          await pass(windows, first, Math.min(options.windowsPerPass, batch - first), out);
        }
        return out;
      };
      const result = turn.then(run, run);
      turn = result.catch(() => undefined);
      return result;
    },
    memoryStats: () => ({ ...stats }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await turn;
      steps.positions.dispose();
      tf.dispose(residentTensors(resident));
      if (options.closeSource) await source.close();
    },
  };
}

/**
 * A model over checkpoint tensors: checked against the config, then held whole or streamed as
 * `planVitWeights` decides for the active backend and `budget`. Closes the source once the
 * weights are in (held) or at `dispose` (streamed) when `closeSource`.
 */
export async function openVitModel(
  source: VitTensorSource,
  config: VitConfig,
  options: { budget?: number | null; closeSource: boolean },
): Promise<VitModel> {
  const closeSource = async (): Promise<void> => {
    if (options.closeSource) await source.close();
  };
  let plan: VitWeightPlan;
  try {
    plan = prepareVitWeights(source, config, options.budget ?? null);
  } catch (error) {
    await closeSource();
    throw error;
  }
  if (!plan.streamed) {
    try {
      const model = createVitModel(config, await vitWeightsFromSource(source, config));
      return { ...model, weightPlan: plan };
    } finally {
      await closeSource();
    }
  }
  let resident: Omit<VitWeights, 'blocks'>;
  try {
    resident = await loadVitResidentWeights(source, config);
  } catch (error) {
    await closeSource();
    throw error;
  }
  return createStreamedVitModel(config, resident, source, {
    plan,
    windowsPerPass: vitWindowsPerPass(config, plan, tf.getBackend()),
    closeSource: options.closeSource,
  });
}
