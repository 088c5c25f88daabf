/** How long hashing may hold the main thread before it lets the progress line (and signals) through, in ms. */
export const PROGRESS_YIELD_MS = 100;
