import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { benchVit } from './vit.js';

describe('benchVit', () => {
  it('times ViT-S/16 on 32-pixel windows and derives GFLOP/s from the window count', async () => {
    const lines: string[] = [];
    const result = await benchVit({ imageSizes: [32], seconds: 0.05, poolWorkers: 0, backend: 'wasm', log: (line) => lines.push(line) });
    expect([result.benchmark, result.backbone, result.preset]).toEqual(['extract-vit', 'videomae-v2', 'vit-s16']);
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0]!;
    expect([run.imageSize, run.mode, run.threads, run.batchSize]).toEqual([32, 'in-process', 1, 1]);
    // wasm, with its matMuls on OpenBLAS where the native addon is built
    expect(run.backend).toMatch(/^wasm( \+ OpenBLAS [\d.]+ sgemm \(\w+, \d+ threads?\)| \(own matMul: .+\))$/);
    // 32 tokens (8 tubes x 2 x 2): patch 2*32*1536*384 + blocks 12*2*32*384*4608 + attention 12*4*32*32*384.
    expect(run.gflopPerWindow).toBeCloseTo(1.4155776, 9);
    expect(run.windows).toBeGreaterThanOrEqual(1);
    expect(run.windowsPerSecond).toBeCloseTo(run.windows / run.seconds, 9);
    expect(run.gflopPerSecond).toBeCloseTo(run.windowsPerSecond * 1.4155776, 9);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vit-s16 32px in-process x1 \(wasm.*\): [\d.]+ windows\/s, [\d.]+ GFLOP\/s$/);
  });

  it('rejects a bad option naming it', async () => {
    await expect(benchVit({ seconds: 0 })).rejects.toThrow(new ConfigError('bench.seconds: expected a positive number, got 0'));
    await expect(benchVit({ imageSizes: [100] })).rejects.toThrow(
      'extract.backbone.custom.imageSize: expected a multiple of extract.backbone.custom.patchSize (16), got 100',
    );
  });
});
