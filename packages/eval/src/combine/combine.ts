import { ConfigError, InputError } from 'shared';
import { computeMetrics, validateLogitMatrix } from 'shared';
import type { LogitMatrix } from 'shared';
import { DEFAULT_MU_GRID } from './constants.js';
import type { MuSweepEntry } from './types.js';

/** Throws `ConfigError` unless mu is a number in [0, 1]. */
export function validateMu(mu: unknown, key = 'mu'): number {
  if (typeof mu !== 'number' || !Number.isFinite(mu) || mu < 0 || mu > 1) {
    throw new ConfigError(`${key}: expected a number in [0, 1], got ${String(mu)}`);
  }
  return mu;
}

/**
 * `mu * forward + (1 - mu) * reversed`, rounded as float32 PyTorch computes it (mu and 1 - mu
 * become float32 scalars, each product and the sum are rounded to float32), so near-ties fall
 * the same way as in the reference.
 */
export function combineLogits(forward: LogitMatrix, reversed: LogitMatrix, mu: number): LogitMatrix {
  validateMu(mu);
  validateLogitMatrix(forward, 'forward logits');
  validateLogitMatrix(reversed, 'reversed logits');
  if (forward.shape[0] !== reversed.shape[0] || forward.shape[1] !== reversed.shape[1]) {
    throw new InputError(
      `reversed logits: expected the shape of the forward logits [${forward.shape.join(', ')}], got [${reversed.shape.join(', ')}]`,
    );
  }
  const forwardWeight = Math.fround(mu);
  const reversedWeight = Math.fround(1 - mu);
  const combined = new Float32Array(forward.data.length);
  for (let i = 0; i < combined.length; i++) {
    // Products of two float32 values are exact in float64, and float64 has enough bits that
    // rounding the float64 sum to float32 equals float32 addition.
    // biome-ignore lint/style/noNonNullAssertion: both matrices were validated to hold rows x cols values and have the same shape, so i < combined.length indexes both
    combined[i] = Math.fround(forwardWeight * forward.data[i]!) + Math.fround(reversedWeight * reversed.data[i]!);
  }
  return { data: combined, shape: [forward.shape[0], forward.shape[1]] };
}

/** Metrics of the combination at every mu of `mus` (default 0, 0.1, ..., 1.0), in that order. */
export function sweepMu(
  forward: LogitMatrix,
  reversed: LogitMatrix,
  labels: ArrayLike<number>,
  mus: readonly number[] = DEFAULT_MU_GRID,
): MuSweepEntry[] {
  if (mus.length === 0) throw new ConfigError('mus: expected at least one mu in [0, 1], got an empty list');
  mus.forEach((mu, index) => {
    validateMu(mu, `mus[${index}]`);
  });
  return mus.map((mu) => ({ mu, metrics: computeMetrics(combineLogits(forward, reversed, mu), labels) }));
}
