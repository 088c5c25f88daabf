import type { BackendPreference } from 'shared';
import type { VitConfigInput, VitWeightsSpec } from './types.js';

/** What a ViT worker is started with (`workerData`): plain data only. */
export interface VitWorkerInit {
  config: VitConfigInput;
  weights: VitWeightsSpec;
  backend: BackendPreference;
  /** OpenBLAS threads for the wasm backend's matMuls: the workers share the cores. */
  gemmThreads: number;
}

export interface VitWorkerTask {
  type: 'extract';
  id: number;
  data: Uint8Array;
  shape: [number, number, number, number, number];
}

/** A thrown error as plain data: class name, code and message survive the thread boundary. */
export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
  path: string | undefined;
}

export type VitWorkerMessage =
  | { type: 'ready'; backend: string; backendDetail: string }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; features: Float32Array }
  | { type: 'error'; id: number; error: SerializedError };
