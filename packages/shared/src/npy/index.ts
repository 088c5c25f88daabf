export * from './types.js';
export * from './constants.js';
export {
  encodeNpy,
  npyHeader,
  parseNpy,
  parseNpyHeader,
  readNpy,
  readNpyAs,
  readNpyHeader,
  readNpyHeaderSync,
  readNpySync,
  writeNpy,
} from './npy.js';
