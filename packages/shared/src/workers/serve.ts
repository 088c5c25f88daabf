import type { TransferListItem } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import { PthnetError } from '../errors/errors.js';
import { serializeError } from './errors.js';
import type { HostMessage, WorkerEnvelope, WorkerMessage, WorkerMethods } from './types.js';

/** A response and the buffers of it to move to the main thread rather than copy. */
class Transferring<R> {
  constructor(
    readonly value: R,
    readonly transfer: readonly TransferListItem[],
  ) {}
}

/** Marks a handler's response to be sent with `transfer` moved, not copied (they are detached in the worker afterwards). */
export function transferring<R>(value: R, transfer: readonly TransferListItem[]): Transferring<R> {
  return new Transferring(value, transfer);
}

type Reply<R> = R | Transferring<R>;

/** One function per method; what it throws reaches the caller as a typed error. */
export type WorkerHandlers<M extends WorkerMethods<M>> = {
  [K in keyof M]: (request: M[K]['request']) => Reply<M[K]['response']> | Promise<Reply<M[K]['response']>>;
};

/** What a worker's setup gives: what the main thread learns when it is ready, its handlers, and what `close` frees. */
export interface WorkerService<M extends WorkerMethods<M>, Ready> {
  ready: Ready;
  handlers: WorkerHandlers<M>;
  close?: () => void | Promise<void>;
}

/**
 * The worker's end, called once at the top of its entry module: runs `setup` with the init data
 * `startWorkers` was given, reports ready (or the setup's error), then answers calls until the
 * main thread closes it. Calls are answered as they finish, each under its own id.
 */
export function serveWorker<M extends WorkerMethods<M>, Init, Ready>(
  setup: (init: Init) => WorkerService<M, Ready> | Promise<WorkerService<M, Ready>>,
): void {
  if (parentPort === null) {
    throw new PthnetError('WORKER', 'serveWorker: expected to run in a worker thread (see startWorkers), got the main thread');
  }
  void servePort(parentPort, (workerData as WorkerEnvelope<Init>).init, setup);
}

/**
 * `serveWorker` over any port: a worker's `parentPort`, or one end of a `MessageChannel` (which is
 * how the tests run a worker's side in their own thread). Resolves once ready (or failed).
 */
export async function servePort<M extends WorkerMethods<M>, Init, Ready>(
  port: MessagePort,
  init: Init,
  setup: (init: Init) => WorkerService<M, Ready> | Promise<WorkerService<M, Ready>>,
): Promise<void> {
  const post = (message: WorkerMessage, transfer: readonly TransferListItem[] = []): void =>
    port.postMessage(message, transfer as TransferListItem[]);
  const answer = async (id: number, run: () => unknown): Promise<void> => {
    try {
      const reply = await run();
      if (reply instanceof Transferring) post({ type: 'result', id, value: reply.value }, reply.transfer);
      else post({ type: 'result', id, value: reply });
    } catch (error) {
      post({ type: 'error', id, error: serializeError(error) });
    }
  };

  let service: WorkerService<M, Ready>;
  try {
    service = await setup(init);
  } catch (error) {
    post({ type: 'failed', error: serializeError(error) });
    return;
  }
  const handlers = service.handlers as Record<string, (request: unknown) => unknown>;
  port.on('message', (message: HostMessage) => {
    if (message.type === 'close') {
      void answer(message.id, () => service.close?.()).then(() => port.close());
      return;
    }
    const handler = Object.hasOwn(handlers, message.method) ? handlers[message.method] : undefined;
    void answer(message.id, () => {
      if (handler === undefined) {
        throw new PthnetError('WORKER', `${message.method}: expected one of ${Object.keys(handlers).join(', ')}, got no such method`);
      }
      return handler(message.request);
    });
  });
  post({ type: 'ready', ready: service.ready });
}
