export * from './constants.js';
export * from './types.js';
export type * from './interfaces.js';
export { ManifestStore } from './store.js';
export { describeIdentity, identityKey, normalizeIdentity } from './identity.js';
export { formatError } from './format-error.js';
export { isPostgresLocation, manifestExists, redactLocation } from './location.js';
