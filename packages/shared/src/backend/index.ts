export * from './backend.js';
export * from './constants.js';
export {
  disableNativeGemm,
  enableNativeGemm,
  gemmThreadsPerWorker,
  nativeGemmStatus,
  openBlasCoreForCpuInfo,
  preloadNativeGemm,
  transposedMatMulIsFast,
} from './native-gemm.js';
export {
  nativeAttention,
  nativeDepthwise,
  nativeGate,
  nativeGelu,
  nativeGroupNorm,
  nativeKernelsActive,
  nativeLinear,
  nativeMaxPool,
  nativeResidual,
  nativeSgdStep,
  nativeTapSum,
} from './native-kernels.js';
export type { SgdAttrs } from './native-kernels.js';
export type * from './types.js';
