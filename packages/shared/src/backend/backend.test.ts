import { readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { workspaceRoot } from '../paths/index.js';
import { describeActiveBackend, selectBackend } from './backend.js';
import type { BackendPreference } from './types.js';

describe('the workspace', () => {
  it('resolves one @tensorflow/tfjs-core for every package (one engine, one kernel registry)', () => {
    const packagesDir = path.join(workspaceRoot(), 'packages');
    const resolved = new Set(
      readdirSync(packagesDir).map((name) =>
        realpathSync(createRequire(path.join(packagesDir, name, 'package.json')).resolve('@tensorflow/tfjs-core')),
      ),
    );
    expect([...resolved]).toHaveLength(1);
  });
});

describe('selectBackend', () => {
  it('auto falls back quietly past the unbuilt tfjs-node packages to wasm', async () => {
    const selected = await selectBackend('auto');
    expect(selected.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selected.tried.map((t) => t.name)).toEqual(['node-gpu', 'node', 'wasm']);
    expect(selected.tried[0]?.error).toMatch(/tfjs_binding\.node|not installed/);
    expect(selected.tried[1]?.error).toMatch(/tfjs_binding\.node|not installed/);
    expect(selected.tried[2]?.error).toBeUndefined();
    // the failed native packages must not have registered a half-working backend
    expect(tf.findBackendFactory('tensorflow')).toBeNull();
    expect(tf.sum(tf.tensor1d([1, 2, 3.5])).dataSync()[0]).toBe(6.5);
  });

  it('an explicit cpu choice switches the single tfjs-core instance', async () => {
    const selected = await selectBackend('cpu');
    expect(selected).toEqual({ name: 'cpu', tfjsName: 'cpu', tried: [{ name: 'cpu' }] });
    expect(tf.getBackend()).toBe('cpu');
    expect(Array.from(tf.mul(tf.tensor1d([2, 3]), 4).dataSync())).toEqual([8, 12]);
    expect(describeActiveBackend()).toBe('cpu');
    await selectBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(describeActiveBackend()).toMatch(/^wasm( \+ OpenBLAS| \(own matMul)/);
  });

  it('an explicit backend that cannot load is a ConfigError saying why', async () => {
    const failure = selectBackend('node');
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(selectBackend('node-gpu')).rejects.toThrow(/'node-gpu' cannot be used on this machine: .*tfjs-node-gpu/);
  });

  it('rejects an unknown preference naming the key', async () => {
    await expect(selectBackend('tpu' as BackendPreference)).rejects.toThrow(
      'backend: expected one of auto, node-gpu, node, wasm, cpu, got "tpu"',
    );
  });
});
