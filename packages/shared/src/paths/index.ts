export * from './paths.js';
export * from './confine.js';
