/**
 * Version of the cache-key layout itself. It is hashed into every key, so changing how keys are
 * built invalidates every artifact instead of silently colliding with old keys.
 */
export const CACHE_KEY_FORMAT_VERSION = 1;

/** Read size when streaming a file through sha256; large reads keep syscall overhead negligible. */
export const HASH_READ_CHUNK_BYTES = 1 << 20;

/** Stands for the hash in `cacheKeyOfInput`'s canonical text: JSON writes it as is, and a key part holding it too takes the long way. */
export const HASH_SLOT = '@@pthnet-input-hash@@';
