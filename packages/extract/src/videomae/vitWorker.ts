/**
 * Entry point of one ViT worker thread: selects its own tfjs backend (a wasm instance runs one
 * thread, so parallelism across cores means one backend per thread), loads its own copy of the
 * weights, then answers `extract` tasks one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PthnetError, describeBackend, selectBackend } from 'shared';
import { loadVitWeights } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import { createVitModel } from './vit.js';
import { randomVitTensorSource, vitWeightsFromSource } from './weights.js';
import type { SerializedError, VitWorkerInit, VitWorkerMessage, VitWorkerTask } from './workerProtocol.js';
import type { VitModel } from './types.js';

function serialize(error: unknown): SerializedError {
  if (error instanceof PthnetError) {
    const path = (error as { path?: unknown }).path;
    return { name: error.name, code: error.code, message: error.message, path: typeof path === 'string' ? path : undefined };
  }
  if (error instanceof Error) return { name: error.name, code: undefined, message: error.message, path: undefined };
  return { name: 'Error', code: undefined, message: String(error), path: undefined };
}

async function start(port: NonNullable<typeof parentPort>, init: VitWorkerInit): Promise<void> {
  const post = (message: VitWorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer);
  let model: VitModel;
  let backend: string;
  let backendDetail: string;
  try {
    const selected = await selectBackend(init.backend, { gemmThreads: init.gemmThreads });
    backend = selected.name;
    backendDetail = describeBackend(selected);
    const config = resolveVitConfig(init.config);
    const weights =
      'path' in init.weights
        ? await loadVitWeights(init.weights.path, config, { format: init.weights.format ?? 'auto' })
        : await vitWeightsFromSource(randomVitTensorSource(config, init.weights.randomSeed), config);
    model = createVitModel(config, weights);
  } catch (error) {
    post({ type: 'failed', error: serialize(error) });
    return;
  }
  port.on('message', (task: VitWorkerTask) => {
    model.extractFeatures({ data: task.data, shape: task.shape }).then(
      (features) => {
        // Transfer, not copy: only safe when the array owns its whole buffer.
        const owned = features.byteOffset === 0 && features.byteLength === features.buffer.byteLength ? features : features.slice();
        post({ type: 'result', id: task.id, features: owned }, [owned.buffer as ArrayBuffer]);
      },
      (error: unknown) => post({ type: 'error', id: task.id, error: serialize(error) }),
    );
  });
  post({ type: 'ready', backend, backendDetail });
}

if (parentPort === null) throw new Error('vitWorker.ts runs as a worker thread (see createVitWorkerPool)');
void start(parentPort, workerData as VitWorkerInit);
