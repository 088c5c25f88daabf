import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ManifestStore,
  bestCheckpointOf,
  datasetClasses,
  hashFile,
  readArtifactRecord,
  selectBackend,
  trainingRunIdentity,
  validateConfig,
} from 'shared';
import { loadPthNetCheckpoint } from 'model';
import { dispatch } from 'shared/cli';
import { TRAIN_STAGES } from './index.js';
import { trainDirection } from './train.js';

const main = (argv: readonly string[]) => dispatch(TRAIN_STAGES, argv);
import { openPackedDataset } from '../packed/packed.js';
import { trainRun } from '../trainer/trainer.js';
import { TINY, fixtureWorkspace } from './fixture.test-helper.js';

interface Expected {
  train_steps: Array<{ loss: number; loss_ce: number; loss_kl_L: number; loss_kl_M: number }>;
  state_dict_after_steps: Record<string, { shape: number[]; data: number[] }>;
}

describe('train command on the reference fixture (fixtures/pthnet/tiny)', () => {
  let work: string;
  let config: string;
  let expected: Expected;

  beforeAll(async () => {
    await selectBackend('wasm');
    expected = JSON.parse(readFileSync(join(TINY, 'expected.json'), 'utf8')) as Expected;
    ({ work, config } = await fixtureWorkspace('pthnet-train-', ['forward']));
  });

  it('reproduces the reference per-step losses and final state dict (batch 5, no shuffle, no noise, drop path 0)', async () => {
    const code = await main([
      'train',
      '--config',
      config,
      '--direction',
      'forward',
      '--init',
      join(TINY, 'checkpoint_init.pth'),
      '--epochs',
      '3',
      '--batch-size',
      '5',
      '--lr',
      '0.005',
      '--momentum',
      '0.9',
      '--weight-decay',
      '1e-4',
      '--milestones',
      '100',
      '--no-shuffle',
      '--noise',
      '0',
      '--drop-path',
      '0',
    ]);
    expect(code).toBe(0);
    const run = join(work, 'data/runs/raw_forward');
    const steps = readFileSync(join(run, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'step');
    expect(steps).toHaveLength(3);
    steps.forEach((s, i) => {
      const want = expected.train_steps[i]!;
      for (const k of ['loss', 'loss_ce', 'loss_kl_L', 'loss_kl_M'] as const) expect(Math.abs(s[k] - want[k])).toBeLessThan(1e-4);
      expect(s.lr).toBe(0.005);
    });
    const last = await loadPthNetCheckpoint(join(run, 'last.safetensors'));
    const keys = Object.keys(expected.state_dict_after_steps);
    expect([...last.stateDict.keys()]).toEqual(keys);
    for (const key of keys) {
      const want = expected.state_dict_after_steps[key]!;
      const got = last.stateDict.get(key)!;
      expect(got.shape).toEqual(want.shape);
      let worst = 0;
      want.data.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - got.data[i]!));
      });
      expect(worst, key).toBeLessThan(1e-5);
    }
    // rerun with nothing changed: no training
    const store = await ManifestStore.open(join(work, 'data/manifest.sqlite'));
    const before = await store.artifacts.getArtifact(trainingRunIdentity('ferv39k', { direction: 'forward', source: 'raw' }));
    await store.close();
    expect(before?.status).toBe('done');
    expect(
      await main([
        'train',
        '--config',
        config,
        '--direction',
        'forward',
        '--init',
        join(TINY, 'checkpoint_init.pth'),
        '--epochs',
        '3',
        '--batch-size',
        '5',
        '--lr',
        '0.005',
        '--milestones',
        '100',
        '--no-shuffle',
        '--noise',
        '0',
        '--drop-path',
        '0',
      ]),
    ).toBe(0);
    expect(
      readFileSync(join(run, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.includes('"step"')),
    ).toHaveLength(3);
  });

  it.each([
    { workers: 1, split: true, label: '1 thread' },
    { workers: 2, split: true, label: '2 worker threads' },
    // by default a network is split across workers only without the native kernels; with them it
    // trains in this thread, its kernels on 2 threads
    { workers: 2, split: false, label: '2 threads, the default engine' },
  ])('a run interrupted after an epoch resumes to the same result as an uninterrupted one ($label)', async ({ workers, split }) => {
    const name = 'raw_forward_train';
    const ds = await openPackedDataset(join(work, 'data/datasets', name), name);
    const hyper = validateConfig({
      train: {
        epochs: 4,
        batchSize: 2,
        lr: 0.01,
        milestones: [2],
        seed: 7,
        shuffle: true,
        noise: 0.01,
        dropPath: 0.3,
        model: { n_embd: 32, mlp_dim: 24 },
      },
    }).train;
    const straight = await trainRun({
      outDir: join(work, `straight${workers}${split}`),
      train: ds,
      validation: ds,
      hyper,
      runKey: 'k',
      workers,
      ...(split ? { parallelFromParameters: 0 } : {}),
    });
    const controller = new AbortController();
    const first = await trainRun({
      outDir: join(work, `resumed${workers}${split}`),
      train: ds,
      validation: ds,
      hyper,
      runKey: 'k',
      signal: controller.signal,
      workers,
      ...(split ? { parallelFromParameters: 0 } : {}),
      onEpoch: (r) => r.epoch === 1 && controller.abort(),
    });
    expect(first).toMatchObject({ interrupted: true, resumedFromEpoch: 0 });
    expect(first.epochs).toHaveLength(2);
    const second = await trainRun({
      outDir: join(work, `resumed${workers}${split}`),
      train: ds,
      validation: ds,
      hyper,
      runKey: 'k',
      workers,
      ...(split ? { parallelFromParameters: 0 } : {}),
    });
    expect(second).toMatchObject({ interrupted: false, resumedFromEpoch: 2 });
    expect(second.epochs.map((e) => e.loss)).toEqual(straight.epochs.map((e) => e.loss));
    // wasm, with its matMuls on OpenBLAS where the native addon is built
    const wasm = String.raw`wasm( \+ OpenBLAS [\d.]+ sgemm \(\w+, \d+ threads?\)| \(own matMul: .+\))`;
    const inProcess = '(1 thread|native kernels in this process)';
    // unsplit: the tiny network is below the split threshold without the native kernels, and never split with them
    const engine = workers === 1 || !split ? inProcess : `${workers} worker threads`;
    expect(straight.backend).toMatch(new RegExp(`^${wasm}, ${engine}$`));
    const a = await loadPthNetCheckpoint(join(work, `straight${workers}${split}/last.safetensors`));
    const b = await loadPthNetCheckpoint(join(work, `resumed${workers}${split}/last.safetensors`));
    for (const [key, t] of a.stateDict) expect(b.stateDict.get(key)!.data, key).toEqual(t.data);
    const log = readFileSync(join(work, `resumed${workers}${split}/log.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([0, 1, 2, 3]);
    await ds.close();
  });

  it('records the run folder through its artifact.json; an interrupted run stays pending, unclaimed, and the next train finishes it', async () => {
    const base = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    const cfg = validateConfig({
      ...base,
      train: {
        epochs: 1,
        batchSize: 5,
        out: 'runs-interrupted',
        shuffle: false,
        noise: 0,
        dropPath: 0,
        model: { n_embd: 32, mlp_dim: 24 },
      },
    });
    const dataDir = join(work, 'data');
    const store = await ManifestStore.open(join(dataDir, 'manifest.sqlite'));
    try {
      const runId = await store.runs.startRun('train');
      const identity = trainingRunIdentity('ferv39k', { direction: 'forward', source: 'raw' });
      const scope = { name: 'ferv39k', ownFolder: false };
      const classes = await datasetClasses(store.clips, 'ferv39k');
      const stopped = await trainDirection(store, cfg, dataDir, scope, 'forward', {
        resume: 'auto',
        runId,
        classes,
        signal: AbortSignal.abort(),
      });
      expect(stopped.outcome).toBe('interrupted');
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null, claimPid: null });

      const finished = await trainDirection(store, cfg, dataDir, scope, 'forward', { resume: 'auto', runId, classes });
      expect(finished).toMatchObject({ outcome: 'trained', outDir: join(dataDir, 'runs-interrupted/raw_forward') });
      const row = await store.artifacts.getArtifact(identity);
      const recordPath = join(dataDir, 'runs-interrupted/raw_forward/artifact.json');
      expect(row).toMatchObject({ status: 'done', path: recordPath, contentHash: await hashFile(recordPath) });
      const record = await readArtifactRecord(recordPath);
      expect(record.files.map((f) => f.path)).toEqual([
        'best.json',
        'best.optimizer.safetensors',
        'best.safetensors',
        'curves.png',
        'last.json',
        'last.optimizer.safetensors',
        'last.safetensors',
        'log.jsonl',
      ]);
      for (const file of record.files) expect(await hashFile(join(dataDir, 'runs-interrupted/raw_forward', file.path))).toBe(file.sha256);
      expect(bestCheckpointOf(row?.path ?? '')).toBe(finished.result?.bestPath);
      expect((await trainDirection(store, cfg, dataDir, scope, 'forward', { resume: 'auto', runId, classes })).outcome).toBe('up-to-date');
    } finally {
      await store.close();
    }
  });
});
