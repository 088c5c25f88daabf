import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createRng, seededUniform, selectBackend, validateConfig, writeNpy } from 'shared';
import type { PthNet } from 'model';
import { computeGradients, createPthNet, validatePthNetConfig } from 'model';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeBatch } from '../packed/make-batch.js';
import { buildPackedDataset, openPackedDataset } from '../packed/packed.js';
import type { PackedDataset } from '../packed/types.js';
import type { Batch, Level } from '../sampling/types.js';
import { predictDataset, trainRun } from './trainer.js';

const TINY_PTH = resolve(import.meta.dirname, '../../../../../shared/fixtures/pthnet/tiny/checkpoint_init.pth');
const D = 8;
const ROWS: Record<Level, number> = { H: 40, M: 20, L: 10 };
const LONG = { H: 32, M: 16, L: 8 };
const SHORT = { H: 16, M: 8, L: 4 };
const MODEL = { n_embd: 16, mlp_dim: 8, max_len: 32 };

/** Four clips with more feature rows than 32 per level, so that max_len 16 and 32 pick different rows. */
async function longClips(dir: string, strides?: Record<Level, number>): Promise<PackedDataset> {
  const random = seededUniform(11);
  const clips = [];
  for (let c = 0; c < 4; c++) {
    const levels = {} as Record<Level, string>;
    for (const level of ['H', 'M', 'L'] as const) {
      levels[level] = join(dir, 'features', level, `${c}.npy`);
      await writeNpy(levels[level], {
        data: Float32Array.from({ length: ROWS[level] * D }, () => 2 * random() - 1),
        shape: [ROWS[level], D],
      });
    }
    clips.push({ id: `clip${c}`, label: c, levels });
  }
  const name = strides ? 'long_other_strides' : 'long';
  await buildPackedDataset({ clips, outDir: join(dir, 'packed'), name, ...(strides ? { strides } : {}) });
  return openPackedDataset(join(dir, 'packed'), name);
}

function tensors(batch: Batch) {
  const x = (t: { data: Float32Array; shape: readonly number[] }) => tf.tensor3d(t.data, t.shape as [number, number, number]);
  const m = (t: { data: Uint8Array; shape: readonly number[] }) =>
    tf.tensor3d(Float32Array.from(t.data), t.shape as [number, number, number]);
  return { x_H: x(batch.x_H), x_M: x(batch.x_M), x_L: x(batch.x_L), m_H: m(batch.m_H), m_M: m(batch.m_M), m_L: m(batch.m_L) };
}

/** Step-0 loss of a fresh seeded network on the first batch, sampled at `lengths` (what the trainer's first step must report). */
function firstStepLoss(model: PthNet, dataset: PackedDataset, seed: number, lengths: Record<Level, number>): number {
  const batch = makeBatch(dataset, [0, 1, 2, 3], { mode: 'train', rng: createRng(seed), noise: 0, levelLengths: lengths });
  const inputs = tensors(batch);
  const labels = tf.tensor1d(batch.y.data, 'int32');
  const { losses, grads } = computeGradients(model, inputs, labels, { training: true, dropPathProb: 0 });
  tf.dispose([labels, ...Object.values(inputs), ...grads.values()]);
  return losses.loss;
}

describe('train.model.max_len is honoured: every level is sampled to max_len, / 2, / 4', () => {
  let dir: string;
  let dataset: PackedDataset;
  beforeAll(async () => {
    await selectBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'pthnet-maxlen-'));
    dataset = await longClips(dir);
  });

  it('training samples 32 / 16 / 8 steps for a max_len 32 network', async () => {
    const hyper = validateConfig({
      train: { epochs: 1, batchSize: 4, seed: 3, shuffle: false, noise: 0, dropPath: 0, milestones: [], model: MODEL },
    }).train;
    const run = await trainRun({ outDir: join(dir, 'run'), train: dataset, validation: dataset, hyper, runKey: 'k' });
    expect(run.epochs).toHaveLength(1);
    const [step] = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; loss: number })
      .filter((record) => record.type === 'step');
    const config = validatePthNetConfig({ ...MODEL, n_in: D, num_classes: 4 });
    const fresh = () => createPthNet(config, { seed: 3 });
    const atMaxLen = firstStepLoss(fresh(), dataset, 3, LONG);
    const at16 = firstStepLoss(fresh(), dataset, 3, SHORT);
    expect(Math.abs(atMaxLen - at16)).toBeGreaterThan(1e-3);
    expect(step?.loss).toBeCloseTo(atMaxLen, 6);
  });

  it('evaluation (predictDataset) samples level H to the network max_len', () => {
    const model = createPthNet(validatePthNetConfig({ ...MODEL, n_in: D, num_classes: 4 }), { seed: 5 });
    const levelH = (lengths: Record<Level, number>) => {
      const inputs = tensors(makeBatch(dataset, [0, 1, 2, 3], { mode: 'eval', levelLengths: lengths }));
      const logits = model.predict(inputs.x_H, inputs.m_H);
      const values = Float32Array.from(logits.dataSync());
      tf.dispose([logits, ...Object.values(inputs)]);
      return values;
    };
    const expected = levelH(LONG);
    expect(expected).not.toEqual(levelH(SHORT));
    expect(predictDataset(model, dataset, 3)).toEqual(expected);
    model.dispose();
  });

  it('a max_len the network cannot take, or one that contradicts --init, is an error naming train.model.max_len', async () => {
    const run = (model: Record<string, unknown>, init: string | null) =>
      trainRun({
        outDir: join(dir, 'rejected'),
        train: dataset,
        validation: dataset,
        hyper: { ...validateConfig({ train: { epochs: 1, batchSize: 4, model } }).train, init },
        runKey: 'k',
      });
    await expect(run({ ...MODEL, max_len: 24 }, null)).rejects.toThrow(ConfigError);
    await expect(run({ ...MODEL, max_len: 24 }, null)).rejects.toThrow(/^train\.model\.max_len: expected a multiple of 16/);
    await expect(run({ max_len: 32 }, TINY_PTH)).rejects.toThrow(
      "train.model.max_len: expected 16 (the --init checkpoint's network, whose weights fix the architecture), got 32",
    );
  });
});

describe('datasets.strides', () => {
  it('training refuses a validation set packed at other strides than the training set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-strides-'));
    const train = await longClips(dir);
    const validation = await longClips(dir, { H: 2, M: 4, L: 8 });
    const hyper = validateConfig({ train: { epochs: 1, batchSize: 4, model: MODEL } }).train;
    await expect(trainRun({ outDir: join(dir, 'run'), train, validation, hyper, runKey: 'k' })).rejects.toThrow(
      'train: expected the validation set long_other_strides packed at the training set\'s strides {"H":4,"M":8,"L":16}, got {"H":2,"M":4,"L":8}',
    );
  });
});
