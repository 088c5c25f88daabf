import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PthNetConfig } from '../../pthnet/types.js';
import { readSafetensors, writeSafetensors } from '../safetensors/safetensors.js';
import type { Py } from '../torch/testing.js';
import { buildTorchZip, bytesOf, contiguousStride, fixturesDir, torchTensor } from '../torch/testing.js';
import { loadPthNetCheckpoint, savePthNetCheckpoint } from './pthnetCheckpoint.js';
import type { LoadedPthNetCheckpoint, PthNetStateDict } from './types.js';

const fixtures = fixturesDir();
const REFERENCE_PTH = path.join(fixtures, 'pthnet/tiny/checkpoint_init.pth');
const tiny = JSON.parse(readFileSync(path.join(fixtures, 'pthnet/tiny/expected.json'), 'utf8')) as {
  config: PthNetConfig;
  state_dict_after_steps: Record<string, { shape: number[]; data: number[] }>;
  grads_step0: Record<string, unknown>;
};
const tinyShapes = Object.entries(tiny.state_dict_after_steps).map(([k, v]) => [k, v.shape] as const);

const tmp = mkdtempSync(path.join(tmpdir(), 'pthnet-ckpt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let reference: LoadedPthNetCheckpoint;
beforeAll(async () => {
  reference = await loadPthNetCheckpoint(REFERENCE_PTH);
});

function expectSameTensors(actual: PthNetStateDict | undefined, expected: PthNetStateDict): void {
  expect(actual).toBeDefined();
  expect([...actual!.keys()]).toEqual([...expected.keys()]);
  for (const [key, tensor] of expected) {
    const other = actual!.get(key)!;
    expect(other.shape, key).toEqual(tensor.shape);
    // Byte comparison: bit-exact (NaN payloads, -0) and much faster than a deep equal.
    expect(Buffer.from(bytesOf(other.data)).equals(bytesOf(tensor.data)), key).toBe(true);
  }
}

/** A bare-state-dict .pth of the given shapes whose tensors all view one shared storage. */
function bareStateDictPth(
  shapes: ReadonlyArray<readonly [string, readonly number[]]>,
  extra: Array<[Py, Py]> = [],
  wrapKey?: string,
): Uint8Array {
  const numel = Math.max(...shapes.map(([, s]) => s.reduce((a, b) => a * b, 1)));
  const storage = { type: 'FloatStorage', key: '0', numel };
  const dict: Py = { dict: shapes.map(([key, shape]) => [key, torchTensor(storage, 0, [...shape], contiguousStride(shape))]) };
  const root: Py = wrapKey ? { dict: [[wrapKey, dict], ...extra] } : dict;
  const values = new Float32Array(numel).map((_, i) => i / numel);
  return buildTorchZip('archive', root, { 0: bytesOf(values) });
}

describe('loadPthNetCheckpoint on the reference trainer .pth', () => {
  it('infers the config and reads epoch, best_acc and the SGD hyperparameters', () => {
    expect(reference.config).toEqual(tiny.config);
    expect(reference.epoch).toBe(1);
    expect(reference.metrics).toEqual({ best_acc: 41.25 });
    expect(reference.optimizer).toEqual({ type: 'SGD', lr: 0.005, momentum: 0.9, weight_decay: 0.0001, dampening: 0, nesterov: false });
    expect(reference.source).toEqual({ format: 'torch', path: REFERENCE_PTH });
    expect(reference.warnings).toEqual([]);
    expect([...reference.stateDict.keys()]).toEqual(Object.keys(tiny.state_dict_after_steps));
    // pos_embed.* never train: the initial values are the values after the steps.
    expect(Array.from(reference.stateDict.get('pos_embed.conv.weight')!.data)).toEqual(
      tiny.state_dict_after_steps['pos_embed.conv.weight']!.data.map(Math.fround),
    );
  });

  it('maps momentum buffers to names by position: exactly the parameters that get gradients', () => {
    // The 20 parameters without gradient (positions 6-9, 53-56, ...) have no SGD state, so a
    // shift by one anywhere would change this key list.
    expect([...reference.momentum!.keys()]).toEqual(Object.keys(tiny.grads_step0));
    for (const [key, buffer] of reference.momentum!) expect(buffer.shape).toEqual(reference.stateDict.get(key)!.shape);
  });

  it('names the key and both shapes when a .pth tensor does not fit the config', async () => {
    const shapes = tinyShapes.map(([k, s]) => [k, k === 'stem.1.cross_att.proj.weight' ? [32, 32, 3] : s] as const);
    const file = path.join(tmp, 'misfit.pth');
    writeFileSync(file, bareStateDictPth(shapes));
    await expect(loadPthNetCheckpoint(file)).rejects.toBeInstanceOf(CheckpointError);
    await expect(loadPthNetCheckpoint(file)).rejects.toThrowError(
      /key stem\.1\.cross_att\.proj\.weight: expected shape \[32,32,1\], got \[32,32,3\]/,
    );
  });

  it('loads a bare state dict .pth, and tolerates a non-SGD optimizer with a warning', async () => {
    const bare = path.join(tmp, 'bare.pth');
    writeFileSync(bare, bareStateDictPth(tinyShapes.map(([k, s]) => [`module.${k}`, s] as const)));
    const loaded = await loadPthNetCheckpoint(bare);
    expect(loaded.config).toEqual(tiny.config);
    expect(loaded.epoch).toBeNull();
    expect(loaded.momentum).toBeUndefined();
    expect(loaded.stateDict.get('head.bias')!.data.length).toBe(7);

    const adam: Py = {
      dict: [
        ['state', { dict: [] }],
        [
          'param_groups',
          {
            list: [
              {
                dict: [
                  ['lr', { float: 0.001 }],
                  ['betas', [{ float: 0.9 }, { float: 0.999 }]],
                  ['params', { list: tinyShapes.map((_, i) => i) }],
                ],
              },
            ],
          },
        ],
      ],
    };
    const withAdam = path.join(tmp, 'adam.pth');
    writeFileSync(
      withAdam,
      bareStateDictPth(
        tinyShapes,
        [
          ['epoch', 4],
          ['optimizer', adam],
          ['best_acc', { float: 50.5 }],
        ],
        'state_dict',
      ),
    );
    const loadedAdam = await loadPthNetCheckpoint(withAdam);
    expect(loadedAdam.epoch).toBe(4);
    expect(loadedAdam.metrics).toEqual({ best_acc: 50.5 });
    expect(loadedAdam.momentum).toBeUndefined();
    expect(loadedAdam.warnings).toEqual([`${withAdam}: optimizer is not SGD (no 'momentum' hyperparameter); its state is ignored`]);
  });
});

describe('savePthNetCheckpoint / loadPthNetCheckpoint', () => {
  it('round-trips weights, momentum, config, epoch, metrics and provenance bit for bit', async () => {
    const base = path.join(tmp, 'run1', 'epoch_1');
    rmSync(path.dirname(base), { recursive: true, force: true });
    mkdirSync(path.dirname(base), { recursive: true });
    const saved = await savePthNetCheckpoint(base, {
      stateDict: reference.stateDict,
      config: reference.config,
      epoch: 1,
      metrics: { war: 0.4775, uar: 0.3858 },
      provenance: { codeVersion: 'test-1', source: REFERENCE_PTH, args: { lr: 0.005, batch: 32 } },
      momentum: reference.momentum!,
      optimizer: reference.optimizer!,
    });
    expect(saved).toEqual({
      weightsPath: `${base}.safetensors`,
      sidecarPath: `${base}.json`,
      optimizerPath: `${base}.optimizer.safetensors`,
    });

    const sidecar = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Record<string, unknown>;
    expect(sidecar).toMatchObject({
      format: 'pthnet-checkpoint',
      version: 1,
      weights: 'epoch_1.safetensors',
      epoch: 1,
      config: tiny.config,
      optimizer: { type: 'SGD', lr: 0.005, file: 'epoch_1.optimizer.safetensors' },
    });
    expect(typeof (sidecar['provenance'] as Record<string, unknown>)['createdAt']).toBe('string');

    // The weights file alone holds exactly the reference keys, so the reference model loads it strictly.
    const weights = await readSafetensors(`${base}.safetensors`);
    expect([...weights.tensors.keys()]).toEqual(Object.keys(tiny.state_dict_after_steps).sort());
    expect([...weights.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);

    for (const entry of [`${base}.safetensors`, `${base}.json`, base]) {
      const loaded = await loadPthNetCheckpoint(entry);
      expectSameTensors(loaded.stateDict, reference.stateDict);
      expectSameTensors(loaded.momentum, reference.momentum!);
      expect(loaded.config).toEqual(tiny.config);
      expect(loaded.epoch).toBe(1);
      expect(loaded.metrics).toEqual({ war: 0.4775, uar: 0.3858 });
      expect(loaded.provenance).toMatchObject({ codeVersion: 'test-1', source: REFERENCE_PTH, args: { lr: 0.005, batch: 32 } });
      expect(loaded.optimizer).toEqual(reference.optimizer);
      expect(loaded.source).toEqual({ format: 'pthnet', path: `${base}.safetensors`, sidecarPath: `${base}.json` });
    }

    // Saving again without momentum drops the now-stale optimizer file.
    await savePthNetCheckpoint(base, { stateDict: reference.stateDict, config: reference.config, epoch: 2, metrics: {}, provenance: {} });
    expect(existsSync(`${base}.optimizer.safetensors`)).toBe(false);
    const second = await loadPthNetCheckpoint(base);
    expect(second.epoch).toBe(2);
    expect(second.momentum).toBeUndefined();
  });

  it('loads weights without a sidecar: config from metadata, or inferred from shapes', async () => {
    const base = path.join(tmp, 'lonely');
    await savePthNetCheckpoint(base, {
      stateDict: reference.stateDict,
      config: reference.config,
      epoch: 7,
      metrics: { war: 1 },
      provenance: {},
    });
    rmSync(`${base}.json`);
    const fromMetadata = await loadPthNetCheckpoint(`${base}.safetensors`);
    expect(fromMetadata.source.format).toBe('safetensors');
    expect(fromMetadata.config).toEqual(tiny.config);
    expect(fromMetadata.epoch).toBe(7);
    expectSameTensors(fromMetadata.stateDict, reference.stateDict);

    const foreign = path.join(tmp, 'foreign.safetensors');
    await writeSafetensors(
      foreign,
      [...reference.stateDict].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })),
    );
    const inferred = await loadPthNetCheckpoint(foreign);
    expect(inferred.config).toEqual(tiny.config);
    expect(inferred.epoch).toBeNull();
    expect(inferred.warnings[0]).toMatch(/config inferred from the shapes/);
  });

  it('detects files from different saves and a sidecar config the weights do not fit', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const input = { stateDict: reference.stateDict, config: reference.config, epoch: 1, metrics: {}, provenance: {} };
    await savePthNetCheckpoint(a, input);
    await savePthNetCheckpoint(b, input);
    copyFileSync(`${b}.safetensors`, `${a}.safetensors`);
    await expect(loadPthNetCheckpoint(a)).rejects.toThrowError(/does not match sidecar .*a\.json.*different saves/);

    const sidecar = JSON.parse(readFileSync(`${b}.json`, 'utf8')) as { config: PthNetConfig };
    sidecar.config.mlp_dim = 16;
    writeFileSync(`${b}.json`, JSON.stringify(sidecar));
    await expect(loadPthNetCheckpoint(b)).rejects.toThrowError(/key stem\.0\.mlp\.0\.weight: expected shape \[16,32,1\], got \[24,32,1\]/);

    writeFileSync(`${b}.json`, JSON.stringify({ ...sidecar, epoch: 'one' }));
    await expect(loadPthNetCheckpoint(b)).rejects.toThrowError(/key epoch: expected a non-negative integer, got "one"/);

    // the sidecar may only name files beside it: `..` (a folder) or a path is refused, never opened
    for (const weights of ['..', '.', '../b.safetensors', '/etc/passwd']) {
      writeFileSync(`${b}.json`, JSON.stringify({ ...sidecar, weights }));
      await expect(loadPthNetCheckpoint(`${b}.json`)).rejects.toThrowError(
        new CheckpointError(
          `${b}.json: key weights: expected the name of a file beside the sidecar, got ${JSON.stringify(weights)}`,
          `${b}.json`,
        ),
      );
    }
  });

  it('refuses to save what does not fit, and says what is missing', async () => {
    const base = path.join(tmp, 'refused');
    const wrong = new Map(reference.stateDict);
    wrong.delete('head.bias');
    await expect(
      savePthNetCheckpoint(base, { stateDict: wrong, config: reference.config, epoch: 1, metrics: {}, provenance: {} }),
    ).rejects.toThrowError(/missing key head\.bias \(expected shape \[7\]\)/);
    await expect(
      savePthNetCheckpoint(base, {
        stateDict: reference.stateDict,
        config: reference.config,
        epoch: 1,
        metrics: { loss: NaN },
        provenance: {},
      }),
    ).rejects.toThrowError(/metrics\.loss: expected a finite number, got NaN/);
    const badMomentum = new Map([['head.bias', { shape: [8], data: new Float32Array(8) }]]);
    await expect(
      savePthNetCheckpoint(base, {
        stateDict: reference.stateDict,
        config: reference.config,
        epoch: 1,
        metrics: {},
        provenance: {},
        momentum: badMomentum,
        optimizer: reference.optimizer!,
      }),
    ).rejects.toThrowError(/momentum buffer head\.bias: expected shape \[7\], got \[8\]/);
    await expect(
      savePthNetCheckpoint(base, {
        stateDict: reference.stateDict,
        config: reference.config,
        epoch: 1,
        metrics: {},
        provenance: {},
        momentum: reference.momentum!,
      }),
    ).rejects.toThrowError(/momentum buffers given without the optimizer hyperparameters/);
    expect(existsSync(`${base}.json`)).toBe(false);
    await expect(loadPthNetCheckpoint(path.join(tmp, 'nothing-here'))).rejects.toThrowError(/no checkpoint at/);
  });
});
