/** Feature dtypes accepted (numpy descr): float32 as written by the extractor and the reference, float64 narrowed by the packer. */
export const FEATURE_DESCRS: Readonly<Record<string, number>> = { '<f4': 4, '<f8': 8 };

/**
 * Files before `import-features` starts worker threads to stamp and check them: a thread costs a
 * few hundred ms to start (tsx in a fresh isolate), which a few thousand stats do not repay.
 */
export const FILE_CHECK_THREADS_FROM = 4096;

/** Paths a thread stamps per call; a call's messages cost little beside 8k stats. */
export const STAMP_CHUNK = 8192;

/** Files a thread checks per call: small enough for a smooth progress line, large enough to amortise the message. */
export const CHECK_CHUNK = 256;

/** In this thread, the time between yields to the event loop (progress line, signals) while checking. */
export const CHECK_YIELD_MS = 100;
