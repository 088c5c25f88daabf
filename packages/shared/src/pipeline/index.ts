export * from './catalogue.js';
export * from './dataset-scope.js';
export * from './classes.js';
export * from './fold-status.js';
