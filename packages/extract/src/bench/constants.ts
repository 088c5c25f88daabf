/** Free space the ViT-g benchmark wants beyond the checkpoint's weights (the zip's headers and pickle, a margin). */
export const VITG_CHECKPOINT_SLACK_BYTES = 64 * 1024 ** 2;

/** How often the ViT-g benchmark samples the process's resident memory. */
export const VITG_RSS_SAMPLE_MS = 200;

/** Seeds of the random PTH-Net networks the ViT-g benchmark writes for `pnpm pthnet predict`. */
export const VITG_BENCH_PTHNET_SEEDS = { forward: 1, reversed: 2 } as const;
