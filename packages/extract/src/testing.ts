// Test helpers other packages' tests may use (the `extract/testing` entry): never imported by production code.
export { patternFrames, writeLavfiVideo, writePngFrames } from './probe/testing.js';
