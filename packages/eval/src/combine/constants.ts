/** mu the paper uses on FERV39k: the forward network gets 70% of the weight. */
export const FERV39K_MU = 0.7;

/**
 * mu = 0, 0.1, ..., 1.0 as the reference sweep (`validate_1` in `combine_test.py`). Built as
 * k / 10 rather than by adding 0.1 so that the entries equal the literals (0.3, not 0.30000000000000004).
 */
export const DEFAULT_MU_GRID: readonly number[] = Object.freeze(Array.from({ length: 11 }, (_, k) => k / 10));
