/**
 * Entry point of one ViT worker thread: selects its own tfjs backend (a wasm instance runs one
 * thread, so parallelism across cores means one backend per thread), opens the weights (held
 * whole, or streamed block by block from the checkpoint file, which every worker reads through
 * the one copy in the OS page cache), then answers `extract` calls (see `createVitWorkerPool`).
 */
import { describeBackend, selectBackend, serveWorker, transferring } from 'shared';
import { openVitTensorSource } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import { openVitModel } from './vit.js';
import { randomVitTensorSource } from './weights.js';
import type { VitWorkerInit, VitWorkerMethods, VitWorkerReady } from './workerProtocol.js';

serveWorker<VitWorkerMethods, VitWorkerInit, VitWorkerReady>(async (init) => {
  const selected = await selectBackend(init.backend, { gemmThreads: init.gemmThreads });
  const config = resolveVitConfig(init.config);
  const source =
    'path' in init.weights
      ? await openVitTensorSource(init.weights.path, { format: init.weights.format ?? 'auto' })
      : randomVitTensorSource(config, init.weights.randomSeed);
  const model = await openVitModel(source, config, { budget: init.weightBudget, closeSource: true });
  return {
    ready: { backend: selected.name, backendDetail: describeBackend(selected), weightPlan: model.weightPlan },
    handlers: {
      extract: async (windows) => {
        const features = await model.extractFeatures(windows);
        // Transfer, not copy: only safe when the array owns its whole buffer.
        const owned = features.byteOffset === 0 && features.byteLength === features.buffer.byteLength ? features : features.slice();
        return transferring(owned, [owned.buffer as ArrayBuffer]);
      },
      memory: async () => model.memoryStats(),
    },
    close: () => model.dispose(),
  };
});
