import type { BackendPreference } from 'shared';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitConfigInput, VitMemoryStats, VitWeightPlan, VitWeightsSpec } from './types.js';

/** What a ViT worker is started with: plain data only. */
export interface VitWorkerInit {
  config: VitConfigInput;
  weights: VitWeightsSpec;
  backend: BackendPreference;
  /** OpenBLAS threads for the wasm backend's matMuls: the workers share the cores. */
  gemmThreads: number;
  /** Most weight bytes the worker holds at once; null: stream only what would not fit its backend. */
  weightBudget: number | null;
}

/** What a ViT worker reports once its weights are loaded (or, streamed, ready to come in). */
export interface VitWorkerReady {
  backend: string;
  backendDetail: string;
  weightPlan: VitWeightPlan;
}

/** The calls a ViT worker answers: features of a batch of windows, `[batch, embedDim]` row-major; its memory figures. */
export type VitWorkerMethods = {
  extract: { request: VideoWindowBatch; response: Float32Array };
  memory: { request: undefined; response: VitMemoryStats };
};
