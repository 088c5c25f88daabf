// Entry of one data-parallel worker thread, started by `DataParallelPthNet.create`.
import { serveWorker } from 'shared';
import type { DataParallelMethods, WorkerInit, WorkerReady } from './types.js';
import { dataParallelWorker } from './worker-service.js';

serveWorker<DataParallelMethods, WorkerInit, WorkerReady>(dataParallelWorker);
