export * from './catalogue.js';
export * from './dataset-scope.js';
