import type { BackendName, BackendPreference } from './types.js';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/** Order tried by `auto`: native TensorFlow first, then the wasm kernels, then plain JS. */
export const AUTO_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** npm package that provides each backend. */
export const BACKEND_PACKAGES: Record<BackendName, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Name each backend registers under in tfjs-core. */
export const TFJS_BACKEND_NAMES: Record<BackendName, string> = {
  'node-gpu': 'tensorflow',
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** File the tfjs-node packages load at import time; without it the import throws. */
export const NATIVE_BINDING_FILE = 'tfjs_binding.node';

/** The native addon (OpenBLAS matMul and layer kernels), relative to this folder (node-gyp's output). */
export const NATIVE_GEMM_ADDON = '../../native/build/Release/pthnet_native.node';

/** `PTHNET_NATIVE_GEMM=0` keeps the wasm backend's own kernels: no OpenBLAS matMul, no native layer kernels. */
export const NATIVE_GEMM_DISABLE_ENV = 'PTHNET_NATIVE_GEMM';

/**
 * OpenBLAS kernel set for CPUs it may not recognise, first match wins (x86-64 /proc/cpuinfo flags,
 * and vendor and family where given). AMD's family 0x19 (Zen 3 and 4) runs AVX-512 at half width:
 * there OpenBLAS's Haswell sgemm is about 5 % faster than its SkylakeX one (110 against 105 GFLOP/s
 * per core on a 512 x 512 x 512 product, measured on a Zen 4 EPYC).
 */
export const OPENBLAS_CORE_BY_CPU_FLAGS: ReadonlyArray<{ core: string; flags: readonly string[]; vendor?: string; family?: number }> = [
  { core: 'Haswell', flags: ['avx2', 'fma'], vendor: 'AuthenticAMD', family: 25 },
  { core: 'SkylakeX', flags: ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'] },
  { core: 'Haswell', flags: ['avx2', 'fma'] },
];
