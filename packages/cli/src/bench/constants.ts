/** Clips in the full FERV39k-size stand-in (the real train and test lists). */
export const FERV39K_CLIPS = 38_935;

/** The stages the benchmark runs, in order; train and eval go when `--skip-train` is given. */
export const SCALE_STAGES = ['import-features', 'datasets', 'train', 'eval'] as const;

/** What the no-op rerun of every stage together must stay under on the project's 2-core machine, in seconds. */
export const NOOP_TARGET_S = 5;

/** Linux's USER_HZ, the unit of the CPU times in /proc/<pid>/stat (100 on every mainstream kernel config). */
export const CLOCK_TICKS_PER_SECOND = 100;
