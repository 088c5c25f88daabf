/** What a caller may ask for: `auto` tries the fastest first and falls back quietly. */
export type BackendPreference = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** A concrete backend of ours (the tfjs registry name differs for the node ones: `tensorflow`). */
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface BackendAttempt {
  name: BackendName;
  /** Why it did not load; absent for the one that runs. */
  error?: string;
}

export interface SelectedBackend {
  /** The backend that now runs every tfjs op. */
  name: BackendName;
  /** The name tfjs-core knows it by (`tf.getBackend()`). */
  tfjsName: string;
  /** Every backend tried, in order, the last one being `name`. */
  tried: BackendAttempt[];
  /** On wasm: whether its matMuls run on OpenBLAS (see native-gemm.ts). */
  gemm?: NativeGemmStatus;
}

/** The OpenBLAS binding in `packages/shared/native` (see native-gemm.ts). */
export interface NativeGemmAddon {
  gemm(
    transposeA: boolean,
    transposeB: boolean,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    strideA: number,
    b: Float32Array,
    strideB: number,
    out: Float32Array,
    bias: Float32Array | null,
  ): void;
  setThreads(threads: number): void;
  info(): { config: string; core: string; threads: number };
}

/** Whether the wasm backend's matMuls run on OpenBLAS, and why not when they do not. */
export type NativeGemmStatus = { active: true; library: string; core: string; threads: number } | { active: false; reason: string };
