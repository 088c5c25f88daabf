export * from './types.js';
export * from './constants.js';
export { hashBytes, hashFile, hashFileWithSize } from './hash.js';
export { cacheKey, canonicalJson } from './cache-key.js';
export { fileStamp, fileStampSync, stampOf } from './stamp.js';
