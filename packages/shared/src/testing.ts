// Test helpers other packages' tests may use (the `shared/testing` entry): never imported by production code.
export { postgresForTests, startPostgres } from './manifest/test-support/postgres-server.js';
export type { PostgresAvailability, PostgresServer } from './manifest/test-support/postgres-server.js';
export { dumpManifest } from './manifest/test-support/dump.js';
export { dispatchCaptured } from './cli/test-support/captured.js';
export type { CapturedRun } from './cli/test-support/captured.js';
