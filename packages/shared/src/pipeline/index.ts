export * from './constants.js';
export * from './artifacts.js';
