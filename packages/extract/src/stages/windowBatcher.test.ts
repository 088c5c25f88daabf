import { describe, expect, it } from 'vitest';
import { WindowBatcher } from './windowBatcher.js';

const win = (v: number) => new Uint8Array([v]);

describe('WindowBatcher', () => {
  it('fills batches across clips and flushes the last partial batch when every job waits', async () => {
    const batches: number[][] = [];
    const batcher = new WindowBatcher<Uint8Array>(4, async (ws) => {
      batches.push(ws.map((w) => w[0]!));
      return ws.map((w) => new Float32Array([w[0]! * 10]));
    });
    batcher.enter();
    batcher.enter();
    batcher.enter();
    const a = batcher.features([win(1), win(2), win(3)]);
    const b = batcher.features([win(4), win(5)]);
    const c = batcher.features([win(6)]);
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(ra.map((r) => r[0])).toEqual([10, 20, 30]);
    expect(rb.map((r) => r[0])).toEqual([40, 50]);
    expect(rc.map((r) => r[0])).toEqual([60]);
    // 5 windows reached the batch size; [6] went alone once every job was waiting
    expect(batches).toEqual([[1, 2, 3, 4], [5], [6]]);
  });

  it('does not wait for a job that is still decoding until it adds its windows or leaves', async () => {
    const batches: number[][] = [];
    const batcher = new WindowBatcher<Uint8Array>(8, async (ws) => {
      batches.push(ws.map((w) => w[0]!));
      return ws.map(() => new Float32Array(1));
    });
    batcher.enter();
    batcher.enter();
    const a = batcher.features([win(1)]);
    await new Promise((r) => setTimeout(r, 10));
    expect(batches).toEqual([]);
    batcher.leave(); // the other job finished without windows
    await a;
    expect(batches).toEqual([[1]]);
  });

  it('passes a batch failure to every clip in it', async () => {
    const batcher = new WindowBatcher<Uint8Array>(2, async () => {
      throw new Error('backbone exploded');
    });
    batcher.enter();
    await expect(batcher.features([win(1), win(2)])).rejects.toThrow('backbone exploded');
  });
});
