import type { BackendPreference } from 'shared';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitConfigInput, VitWeightsSpec } from './types.js';

/** What a ViT worker is started with: plain data only. */
export interface VitWorkerInit {
  config: VitConfigInput;
  weights: VitWeightsSpec;
  backend: BackendPreference;
  /** OpenBLAS threads for the wasm backend's matMuls: the workers share the cores. */
  gemmThreads: number;
}

/** What a ViT worker reports once its weights are loaded. */
export interface VitWorkerReady {
  backend: string;
  backendDetail: string;
}

/** The one call a ViT worker answers: features of a batch of windows, `[batch, embedDim]` row-major. */
export type VitWorkerMethods = {
  extract: { request: VideoWindowBatch; response: Float32Array };
};
