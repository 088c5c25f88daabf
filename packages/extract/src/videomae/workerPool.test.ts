import { existsSync, readFileSync } from 'node:fs';
import { CheckpointError, openBlasCoreForCpuInfo } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveVitConfig } from './config.js';
import type { TinyVitFixture } from './testing.js';
import { loadTinyVitFixture, maxAbsDiff } from './testing.js';
import { createVitWorkerPool } from './workerPool.js';

// Read before anything loads the addon: loading it sets OPENBLAS_CORETYPE where the user has not.
const USER_OPENBLAS_CORE = process.env.OPENBLAS_CORETYPE;

/** The OpenBLAS core the workers must report: the user's choice where the environment sets one (some machines must), else the one our CPU table picks. */
function expectedOpenBlasCore(): string | undefined {
  if (USER_OPENBLAS_CORE !== undefined && USER_OPENBLAS_CORE !== '') return USER_OPENBLAS_CORE;
  return existsSync('/proc/cpuinfo') ? openBlasCoreForCpuInfo(readFileSync('/proc/cpuinfo', 'utf8')) : undefined;
}

let fixture: TinyVitFixture;
beforeAll(async () => {
  fixture = await loadTinyVitFixture();
});

describe('createVitWorkerPool', () => {
  it('splits a batch over two wasm workers (TypeScript loaded through tsx) and matches the reference', async () => {
    const pool = await createVitWorkerPool({ config: fixture.config, weightsPath: fixture.checkpointPath, workers: 2, backend: 'wasm' });
    try {
      expect([pool.workers, pool.backend, pool.config.embedDim]).toEqual([2, 'wasm', 48]);
      // where the OpenBLAS addon is built, the workers' matMuls run on it, one BLAS thread each
      // (they share the cores), with the kernels chosen for this CPU: a worker cannot set the
      // environment OpenBLAS reads, so the pool loads it first in this thread. A core set in the
      // environment (OPENBLAS_CORETYPE, as some machines must) is honoured, not overridden.
      if (!/own matMul/.test(pool.backendDetail)) {
        expect(pool.backendDetail).toMatch(/^wasm \+ OpenBLAS [\d.]+ sgemm \(\w+, \d+ threads?\)$/);
        const core = expectedOpenBlasCore();
        if (core !== undefined) expect(pool.backendDetail.toLowerCase()).toContain(`sgemm (${core.toLowerCase()}, `);
      }
      const features = await pool.extractFeatures(fixture.windows);
      expect(features.length).toBe(96);
      expect(maxAbsDiff(features, fixture.features.data)).toBeLessThan(1e-4);
      // Concurrent calls queue behind busy workers and come back in their own order.
      const half = fixture.windows.data.length / 2;
      // A Node Buffer as input: the pool must copy it, never transfer (detach) the caller's memory.
      const asBuffer = Buffer.from(fixture.windows.data);
      expect(maxAbsDiff(await pool.extractFeatures({ data: asBuffer, shape: [2, 16, 40, 56, 3] }), fixture.features.data)).toBeLessThan(
        1e-4,
      );
      expect(asBuffer.length).toBe(fixture.windows.data.length);
      expect(asBuffer[100]).toBe(fixture.windows.data[100]);
      const [first, second] = await Promise.all([
        pool.extractFeatures({ data: fixture.windows.data.subarray(0, half), shape: [1, 16, 40, 56, 3] }),
        pool.extractFeatures({ data: fixture.windows.data.subarray(half), shape: [1, 16, 40, 56, 3] }),
      ]);
      expect(maxAbsDiff([...(first ?? []), ...(second ?? [])], fixture.features.data)).toBeLessThan(1e-4);
    } finally {
      await pool.close();
    }
    await expect(pool.extractFeatures(fixture.windows)).rejects.toThrow('the ViT worker pool was closed');
  });

  it("fails to start with the worker's CheckpointError when the checkpoint does not fit", async () => {
    const starting = createVitWorkerPool({ config: 'vit-s16', weightsPath: fixture.checkpointPath, workers: 1 });
    await expect(starting).rejects.toBeInstanceOf(CheckpointError);
    await expect(starting).rejects.toMatchObject({
      path: fixture.checkpointPath,
      message: expect.stringContaining(
        `ViT worker 0: ${fixture.checkpointPath}: patch_embed.proj.weight: expected shape [384, 3, 2, 16, 16], got [48, 3, 2, 8, 8]`,
      ),
    });
  });

  it('runs random weights the same in every worker (same seed, same features)', async () => {
    const config = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 2, heads: 4, imageSize: 32 });
    const pool = await createVitWorkerPool({ config, randomSeed: 3, workers: 2, backend: 'wasm' });
    try {
      const window = fixture.windows.data.subarray(0, fixture.windows.data.length / 2);
      const twice = new Uint8Array(window.length * 2);
      twice.set(window, 0);
      twice.set(window, window.length);
      const features = await pool.extractFeatures({ data: twice, shape: [2, 16, 40, 56, 3] });
      expect(maxAbsDiff(features.subarray(0, 48), features.subarray(48))).toBe(0);
      expect(maxAbsDiff(features.subarray(0, 48), fixture.features.data.subarray(0, 48))).toBeGreaterThan(0.1);
    } finally {
      await pool.close();
    }
  });
});
