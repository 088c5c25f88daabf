import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, PthnetError, TrainingError } from '../errors/errors.js';
import type { WorkerThread } from './host.js';
import { startWorkers } from './host.js';
import type { EchoInit, EchoMethods } from './test-support/echo-child.js';

const ENTRY = new URL('./test-support/echo-child.ts', import.meta.url);

type Echo = WorkerThread<EchoMethods, { index: number }>;

const started: Echo[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.terminate(new Error('test over'))));
});

async function start(count: number, extra: Partial<EchoInit> = {}, closed = new SharedArrayBuffer(4 * count)): Promise<Echo[]> {
  const workers = await startWorkers<EchoMethods, EchoInit, { index: number }>(count, (index) => ({
    entry: ENTRY,
    init: { index, closed, ...extra },
    name: `echo worker ${index}`,
  }));
  started.push(...workers);
  return workers;
}

describe('worker threads (shared RPC)', () => {
  it('starts TypeScript workers with their init, and answers each call under its own id, in whatever order they finish', async () => {
    const [first, second] = (await start(2)) as [Echo, Echo];
    expect([first.ready, second.ready]).toEqual([{ index: 0 }, { index: 1 }]);
    const order: string[] = [];
    const slow = first.call('echo', { text: 'slow', delayMs: 150 }).then((text) => order.push(text));
    const fast = first.call('echo', { text: 'fast', delayMs: 0 }).then((text) => order.push(text));
    const other = second.call('echo', { text: 'other', delayMs: 20 }).then((text) => order.push(text));
    await Promise.all([slow, fast, other]);
    expect(order).toEqual(['0:fast', '1:other', '0:slow']);
  });

  it('moves transferred buffers both ways instead of copying them', async () => {
    const [worker] = (await start(1)) as [Echo];
    const values = Float32Array.from([1, 2.5, -3]);
    const doubled = await worker.call('double', values, [values.buffer]);
    // ours is detached: it went to the worker; the answer's buffer came back the same way
    expect(values.byteLength).toBe(0);
    expect([...doubled]).toEqual([2, 5, -6]);
  });

  it("rejects a call with the worker's error as its own class, path kept and the thread named; the worker goes on", async () => {
    const [worker] = (await start(1)) as [Echo];
    const checkpoint = worker.call('fail', 'checkpoint');
    await expect(checkpoint).rejects.toBeInstanceOf(CheckpointError);
    await expect(checkpoint).rejects.toMatchObject({
      path: '/w/ckpt.pth',
      message: 'echo worker 0: /w/ckpt.pth: blocks.0: expected shape [4], got [5]',
    });
    await expect(worker.call('fail', 'plain')).rejects.toThrow(
      new PthnetError('WORKER', 'echo worker 0: index 9 out of range (RangeError)'),
    );
    await expect(worker.call('nope' as 'echo', { text: '', delayMs: 0 })).rejects.toThrow(
      'echo worker 0: nope: expected one of echo, double, fail, exit, got no such method (PthnetError)',
    );
    expect(await worker.call('echo', { text: 'still here', delayMs: 0 })).toBe('0:still here');
  });

  it("fails the pool's start with the setup's typed error", async () => {
    const starting = start(2, { failSetupAt: 1 });
    await expect(starting).rejects.toBeInstanceOf(ConfigError);
    await expect(starting).rejects.toThrow(new ConfigError('echo worker 1: setup of worker 1 refused on purpose'));
  });

  it('fails pending and later calls when the thread exits, with the error the pool chose', async () => {
    const closed = new SharedArrayBuffer(4);
    const [worker] = await startWorkers<EchoMethods, EchoInit, { index: number }>(1, (index) => ({
      entry: ENTRY,
      init: { index, closed },
      name: `trainer ${index}`,
      failure: (message, options) => new TrainingError(message, options),
    }));
    started.push(worker as Echo);
    const failures: Error[] = [];
    worker?.onFailure((error) => failures.push(error));
    const waiting = expect(worker?.call('echo', { text: 'never', delayMs: 10_000 })).rejects.toBeInstanceOf(TrainingError);
    await expect(worker?.call('exit', 3)).rejects.toThrow(new TrainingError('trainer 0 exited with code 3'));
    await waiting;
    await expect(worker?.call('echo', { text: 'late', delayMs: 0 })).rejects.toThrow('trainer 0 exited with code 3');
    expect(failures.map((error) => error.message)).toEqual(['trainer 0 exited with code 3']);
    expect(worker?.failure?.message).toBe('trainer 0 exited with code 3');
  });

  it("close runs the worker's close hook, then stops it; terminate rejects what is pending with its reason", async () => {
    const closed = new SharedArrayBuffer(8);
    const [first, second] = (await start(2, {}, closed)) as [Echo, Echo];
    await first.close();
    expect([...new Int32Array(closed)]).toEqual([1, 0]);
    await expect(first.call('echo', { text: 'late', delayMs: 0 })).rejects.toThrow('echo worker 0: echo: the worker is closed');
    const waiting = expect(second.call('echo', { text: 'never', delayMs: 10_000 })).rejects.toThrow('the pool was closed');
    await second.terminate(new PthnetError('WORKER', 'the pool was closed'));
    await waiting;
    expect([...new Int32Array(closed)]).toEqual([1, 0]);
  });
});
