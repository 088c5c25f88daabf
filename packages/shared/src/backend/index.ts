export * from './backend.js';
export * from './constants.js';
export {
  disableNativeGemm,
  enableNativeGemm,
  gemmThreadsPerWorker,
  nativeGemmStatus,
  preloadNativeGemm,
  transposedMatMulIsFast,
} from './native-gemm.js';
export type * from './types.js';
