import type { VitConfig } from './types.js';

/** Floating-point operations of one window, counting a multiply-add as 2, split by where they go. */
export interface VitFlops {
  patchEmbed: number;
  /** qkv, output projection and the two MLP layers, all blocks. */
  linear: number;
  /** `q k^T` and `attn v`, all blocks. */
  attention: number;
  /** Everything above. Elementwise work (norms, softmax, GELU, resize) is left out: it is a few percent. */
  total: number;
}

/** Matrix-multiply FLOPs of one window's forward pass; the benchmark divides these by time for GFLOP/s. */
export function vitFlopsPerWindow(config: VitConfig): VitFlops {
  const tokens = config.tokenCount;
  const dim = config.embedDim;
  const tubeVolume = 3 * config.tubeletSize * config.patchSize * config.patchSize;
  const patchEmbed = 2 * tokens * tubeVolume * dim;
  const perBlockLinear = 2 * tokens * dim * (3 * dim + dim + 2 * config.mlpHidden);
  const perBlockAttention = 2 * 2 * tokens * tokens * dim;
  const linear = config.depth * perBlockLinear;
  const attention = config.depth * perBlockAttention;
  return { patchEmbed, linear, attention, total: patchEmbed + linear + attention };
}

/** Parameters that feed the features (the classification head excluded). */
export function vitParameterCount(config: VitConfig): number {
  const dim = config.embedDim;
  const tubeVolume = 3 * config.tubeletSize * config.patchSize * config.patchSize;
  const perBlock =
    4 * dim + // two LayerNorms
    3 * dim * dim +
    2 * dim + // qkv weight, q_bias, v_bias
    dim * dim +
    dim + // proj
    2 * dim * config.mlpHidden +
    config.mlpHidden +
    dim; // fc1, fc2
  return tubeVolume * dim + dim + config.depth * perBlock + 2 * dim;
}
