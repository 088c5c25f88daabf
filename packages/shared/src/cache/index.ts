export * from './types.js';
export * from './constants.js';
export { hashBytes, hashFile, hashFileSync, hashFileWithSize } from './hash.js';
export { cacheKey, cacheKeyOfInput, canonicalJson } from './cache-key.js';
export { fileStamp, fileStampSync, stampOf } from './stamp.js';
