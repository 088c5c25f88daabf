// Test helpers other packages' tests may use (the `train/testing` entry): never imported by production code.
export { TINY, fixtureWorkspace, writeFixtureFeatures } from './stages/fixture.test-helper.js';
