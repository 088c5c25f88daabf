// The worker's side of the RPC (servePort) run in this thread over a MessageChannel, and the
// error (de)serialisation both sides use: what the threads in workers.test.ts do, where
// coverage and assertions can see every message.
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, InputError, ManifestError, PthnetError, TrainingError } from '../errors/errors.js';
import { reviveWorkerError, serializeError } from './errors.js';
import { servePort, transferring } from './serve.js';
import type { HostMessage, WorkerMessage } from './types.js';

type Methods = {
  add: { request: [number, number]; response: number };
  halve: { request: Float64Array; response: Float64Array };
  fail: { request: string; response: never };
};

const ports: MessagePort[] = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

/** The host end of a channel whose other end is served; collects what the "worker" posts. */
function channel(): { host: MessagePort; worker: MessagePort; received: WorkerMessage[]; next: () => Promise<WorkerMessage> } {
  const { port1: host, port2: worker } = new MessageChannel();
  ports.push(host, worker);
  const received: WorkerMessage[] = [];
  const waiting: Array<(message: WorkerMessage) => void> = [];
  host.on('message', (message: WorkerMessage) => {
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else received.push(message);
  });
  const next = (): Promise<WorkerMessage> => {
    const early = received.shift();
    return early !== undefined ? Promise.resolve(early) : new Promise((resolve) => waiting.push(resolve));
  };
  return { host, worker, received, next };
}

function send(host: MessagePort, message: HostMessage): void {
  host.postMessage(message);
}

describe('servePort (the worker side, in this thread)', () => {
  it('reports ready, answers each call by id, moves transferred replies, and runs the close hook before closing', async () => {
    const { host, worker, next } = channel();
    const closed: string[] = [];
    await servePort<Methods, { scale: number }, { scale: number }>(worker, { scale: 3 }, (init) => ({
      ready: { scale: init.scale },
      handlers: {
        add: ([a, b]) => init.scale * (a + b),
        halve: async (values) => {
          const out = values.map((v) => v / 2);
          return transferring(out, [out.buffer as ArrayBuffer]);
        },
        fail: (what) => {
          if (what === 'checkpoint') throw new CheckpointError('/c.pth: bad', '/c.pth');
          if (what === 'string') throw 'a thrown string';
          throw new RangeError('out of range');
        },
      },
      close: () => {
        closed.push('closed');
      },
    }));
    expect(await next()).toEqual({ type: 'ready', ready: { scale: 3 } });
    send(host, { type: 'call', id: 7, method: 'add', request: [1, 2] });
    expect(await next()).toEqual({ type: 'result', id: 7, value: 9 });
    send(host, { type: 'call', id: 8, method: 'halve', request: Float64Array.from([4, 9]) });
    expect(await next()).toEqual({ type: 'result', id: 8, value: Float64Array.from([2, 4.5]) });
    send(host, { type: 'call', id: 9, method: 'fail', request: 'checkpoint' });
    expect(await next()).toEqual({
      type: 'error',
      id: 9,
      error: { name: 'CheckpointError', code: 'CHECKPOINT', message: '/c.pth: bad', path: '/c.pth' },
    });
    send(host, { type: 'call', id: 10, method: 'fail', request: 'string' });
    expect(await next()).toEqual({
      type: 'error',
      id: 10,
      error: { name: 'Error', code: undefined, message: 'a thrown string', path: undefined },
    });
    send(host, { type: 'call', id: 11, method: 'fail', request: 'range' });
    expect(await next()).toEqual({
      type: 'error',
      id: 11,
      error: { name: 'RangeError', code: undefined, message: 'out of range', path: undefined },
    });
    send(host, { type: 'call', id: 12, method: 'toString', request: null });
    expect(await next()).toEqual({
      type: 'error',
      id: 12,
      error: {
        name: 'PthnetError',
        code: 'WORKER',
        message: 'toString: expected one of add, halve, fail, got no such method',
        path: undefined,
      },
    });
    send(host, { type: 'close', id: 13 });
    expect(await next()).toEqual({ type: 'result', id: 13, value: undefined });
    expect(closed).toEqual(['closed']);
  });

  it("reports a setup that throws as 'failed', with the error as data, and answers nothing", async () => {
    const { worker, next, received } = channel();
    await servePort<Methods, null, null>(worker, null, () => {
      throw new ConfigError('backbone.depth: expected a positive integer, got 0');
    });
    expect(await next()).toEqual({
      type: 'failed',
      error: { name: 'ConfigError', code: 'CONFIG', message: 'backbone.depth: expected a positive integer, got 0', path: undefined },
    });
    expect(received).toEqual([]);
  });
});

describe('reviveWorkerError', () => {
  it('gives each serialized error back its class (and path), prefixed with the thread name', () => {
    const cases: Array<[Error, new (...args: never[]) => Error, string | undefined]> = [
      [new CheckpointError('bad key', '/w.pth'), CheckpointError, '/w.pth'],
      [new InputError('bad clip', '/c.mp4'), InputError, '/c.mp4'],
      [new ConfigError('bad value'), ConfigError, undefined],
      [new TrainingError('NaN loss'), TrainingError, undefined],
      [new ManifestError('locked'), ManifestError, undefined],
    ];
    for (const [error, type, path] of cases) {
      const revived = reviveWorkerError(serializeError(error), 'w 1');
      expect(revived).toBeInstanceOf(type);
      expect([revived.message, (revived as { path?: string }).path]).toEqual([`w 1: ${error.message}`, path]);
    }
    const other = reviveWorkerError(serializeError(new PthnetError('DISPOSED', 'model gone')), 'w 1');
    expect([other.constructor, other.code, other.message]).toEqual([PthnetError, 'DISPOSED', 'w 1: model gone (PthnetError)']);
    expect(reviveWorkerError(serializeError(new TypeError('x is undefined')), 'w 1')).toMatchObject({
      code: 'WORKER',
      message: 'w 1: x is undefined (TypeError)',
    });
  });
});
