import { VIT_POSITION_TABLE_BASE } from './constants.js';

/**
 * The fixed sinusoid position table of VideoMAE v2 (`get_sinusoid_encoding_table`), `[tokens, dim]`
 * row-major: angle `i / 10000^(2 * floor(j / 2) / dim)`, sine on even channels, cosine on odd ones.
 * Computed in float64 like the reference's numpy code, then rounded once to float32.
 */
export function sinusoidPositionTable(tokens: number, dim: number): Float32Array {
  const table = new Float32Array(tokens * dim);
  const inverseFrequency = new Float64Array(dim);
  for (let j = 0; j < dim; j++) inverseFrequency[j] = VIT_POSITION_TABLE_BASE ** ((2 * Math.floor(j / 2)) / dim);
  for (let i = 0; i < tokens; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) {
      const angle = i / (inverseFrequency[j] as number);
      table[row + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}
