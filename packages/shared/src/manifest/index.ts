export * from './constants.js';
export * from './types.js';
export * from './schema.js';
export { ManifestStore, type ManifestDatabase } from './store.js';
export { describeIdentity, identityKey, normalizeIdentity } from './identity.js';
export { formatError } from './format-error.js';
