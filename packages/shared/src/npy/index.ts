export * from './types.js';
export * from './constants.js';
export { encodeNpy, npyHeader, parseNpy, readNpy, readNpyAs, readNpySync, writeNpy } from './npy.js';
