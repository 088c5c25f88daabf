export * from './types.js';
export * from './constants.js';
export { encodeNpy, npyHeader, parseNpy, parseNpyHeader, readNpy, readNpyAs, readNpyHeader, readNpySync, writeNpy } from './npy.js';
