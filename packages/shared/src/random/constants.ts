export const TWO_POW_32 = 0x1_0000_0000;
export const TWO_POW_53 = 2 ** 53;

/** sfc32 outputs dropped after seeding by splitmix32 (`createRng`), as sfc32's author recommends. */
export const SFC32_WARMUP = 12;

/** sfc32 outputs dropped after seeding by `deriveSeed` (`createDemoSetRng`). */
export const DEMO_SET_SFC32_WARMUP = 15;

/** The golden-ratio increment of splitmix32 (and of `deriveSeed`'s initial state). */
export const GOLDEN_32 = 0x9e3779b9;
