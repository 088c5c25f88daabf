import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, PthnetError } from 'shared';
import { VIT_IN_CHANNELS, VIT_LAYER_NORM_EPS } from './constants.js';
import { sinusoidPositionTable } from './position.js';
import { checkWindowBatch, preprocessWindow } from './preprocess.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitBlockWeights, VitConfig, VitModel, VitWeights } from './types.js';
import { disposeVitWeights } from './weights.js';

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
function embedTubes(frames: tf.Tensor4D, weights: VitWeights, config: VitConfig): tf.Tensor2D {
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

/**
 * The VideoMAE v2 ViT as a feature extractor: windows of 16 RGB frames in, `fc_norm(mean over
 * tokens)` out. Takes ownership of `weights` (freed by `dispose`). Inference only.
 */
export function createVitModel(config: VitConfig, weights: VitWeights): VitModel {
  if (weights.blocks.length !== config.depth) {
    throw new ConfigError(
      `createVitModel: weights.blocks: expected ${config.depth} blocks (the config's depth), got ${weights.blocks.length}`,
    );
  }
  const positions = tf.tensor2d(sinusoidPositionTable(config.tokenCount, config.embedDim), [config.tokenCount, config.embedDim]);
  let disposed = false;

  /**
   * One window end to end. Windows go through one at a time: batching them buys nothing on
   * wasm (a [N, D] product already runs at full speed) and splitting a batched tensor back
   * into windows would need the slow Slice; it also keeps the peak memory to one window's.
   */
  function forwardWindow(windows: VideoWindowBatch, index: number): tf.Tensor1D {
    return tf.tidy(() => {
      let x = tf.tidy(() => tf.add(embedTubes(preprocessWindow(windows, index, config), weights, config), positions) as tf.Tensor2D);
      for (const blockWeights of weights.blocks) {
        const next = block(x, blockWeights);
        x.dispose();
        x = next;
      }
      return layerNorm(tf.mean(x, 0), weights.fcNormGamma, weights.fcNormBeta) as tf.Tensor1D;
    });
  }

  return {
    config,
    async extractFeatures(windows) {
      if (disposed) throw new PthnetError('DISPOSED', 'extractFeatures: expected a live model, got one that was disposed');
      checkWindowBatch(windows, config);
      const out = new Float32Array(windows.shape[0] * config.embedDim);
      for (let b = 0; b < windows.shape[0]; b++) {
        const features = forwardWindow(windows, b);
        try {
          out.set((await features.data()) as Float32Array, b * config.embedDim);
        } finally {
          features.dispose();
        }
      }
      return out;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      positions.dispose();
      disposeVitWeights(weights);
    },
  };
}
