/**
 * Entry point of one ViT worker thread: selects its own tfjs backend (a wasm instance runs one
 * thread, so parallelism across cores means one backend per thread), loads its own copy of the
 * weights, then answers `extract` calls (see `createVitWorkerPool`).
 */
import { describeBackend, selectBackend, serveWorker, transferring } from 'shared';
import { loadVitWeights } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import { createVitModel } from './vit.js';
import { randomVitTensorSource, vitWeightsFromSource } from './weights.js';
import type { VitWorkerInit, VitWorkerMethods, VitWorkerReady } from './workerProtocol.js';

serveWorker<VitWorkerMethods, VitWorkerInit, VitWorkerReady>(async (init) => {
  const selected = await selectBackend(init.backend, { gemmThreads: init.gemmThreads });
  const config = resolveVitConfig(init.config);
  const weights =
    'path' in init.weights
      ? await loadVitWeights(init.weights.path, config, { format: init.weights.format ?? 'auto' })
      : await vitWeightsFromSource(randomVitTensorSource(config, init.weights.randomSeed), config);
  const model = createVitModel(config, weights);
  return {
    ready: { backend: selected.name, backendDetail: describeBackend(selected) },
    handlers: {
      extract: async (windows) => {
        const features = await model.extractFeatures(windows);
        // Transfer, not copy: only safe when the array owns its whole buffer.
        const owned = features.byteOffset === 0 && features.byteLength === features.buffer.byteLength ? features : features.slice();
        return transferring(owned, [owned.buffer as ArrayBuffer]);
      },
    },
    close: () => model.dispose(),
  };
});
