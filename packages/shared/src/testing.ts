// Test helpers other packages' tests may use (the `shared/testing` entry): never imported by production code.
export { dumpManifest } from './manifest/test-support/dump.js';
