/**
 * Any class count from 2: datasets of the reference clip-list layout with class names from the
 * config, ingested, extracted (tiny ViT), packed, trained and evaluated through the real
 * commands; the report and predictions name the classes. A checkpoint or config whose head
 * disagrees with the dataset's classes stops `train` before anything is recorded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassCountError, ManifestStore, selectBackend, validateConfig } from 'shared';
import { checkTrainClasses } from 'train';
import { dispatch } from 'shared/cli';
import { EXTRACT_STAGES } from 'extract/stages';
import { TRAIN_STAGES } from 'train/stages';
import { TINY } from 'train/testing';
import { readReport } from '../report/index.js';
import { EVAL_STAGES } from './index.js';
import { MAFW_LABELS as ELEVEN, foldWorkspace, writeReferenceListTree } from './test-support/fold-trees.js';

async function listDataset(classes: readonly string[], perClass: { train: number; test: number }) {
  return foldWorkspace(
    (root) => ({
      name: 'lists',
      layout: 'reference-list',
      dataset: 'lists',
      labels: classes,
      sourceRole: 'raw',
      lists: [
        { split: 'train', path: join(root, 'train_All.txt') },
        { split: 'test', path: join(root, 'test_All.txt') },
      ],
    }),
    (root) => writeReferenceListTree(root, classes, perClass),
  );
}

const run = async (stages: typeof TRAIN_STAGES | typeof EVAL_STAGES | typeof EXTRACT_STAGES, args: string[]) => dispatch(stages, args);

describe('any number of classes (reference-list layout, names from the config)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('11 classes: trains forward and reversed, evaluates, and the report names the 11 classes', async () => {
    const ws = await listDataset(ELEVEN, { train: 1, test: 1 });
    expect(await run(TRAIN_STAGES, ['datasets', '--config', ws.config])).toBe(0);
    expect(await run(TRAIN_STAGES, ['train', '--config', ws.config])).toBe(0);
    expect(await run(EVAL_STAGES, ['eval', '--config', ws.config])).toBe(0);
    const dir = join(ws.data, 'reports/latest');
    const report = await readReport(dir);
    expect(report.classNames).toEqual(ELEVEN);
    expect(report.results.combined.numClasses).toBe(11);
    expect(report.numSamples).toBe(11);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain(`- Classes (label order): ${ELEVEN.map((name, i) => `${i} ${name}`).join(', ')}`);
    const header = readFileSync(join(dir, 'predictions.csv'), 'utf8').split('\n')[0] ?? '';
    for (const name of ELEVEN) expect(header).toContain(name);

    // an 11-way checkpoint as --init trains and scores every epoch (it used to stop after the first, 7 logits a clip expected)
    const best = join(ws.data, 'runs/raw_forward/best.safetensors');
    expect(
      await run(TRAIN_STAGES, [
        'train',
        '--config',
        ws.config,
        '--init',
        best,
        '--direction',
        'forward',
        '--epochs',
        '2',
        '--out',
        'runs-init',
      ]),
    ).toBe(0);
    expect(readFileSync(join(ws.data, 'runs-init/raw_forward/log.jsonl'), 'utf8')).toContain('"type":"epoch","epoch":1');

    // a head of another size stops train before a run is recorded: the --init checkpoint's (7) or the config's
    const manifest = join(ws.data, 'manifest.sqlite');
    const trainRuns = async () => {
      const store = await ManifestStore.open(manifest);
      try {
        return (await store.runs.listRuns({ stage: 'train' })).length;
      } finally {
        await store.close();
      }
    };
    const before = await trainRuns();
    const pth = join(TINY, 'checkpoint_init.pth');
    expect(await run(TRAIN_STAGES, ['train', '--config', ws.config, '--init', pth, '--restart'])).not.toBe(0);
    const config = JSON.parse(readFileSync(ws.config, 'utf8')) as { train: { model: Record<string, unknown> } };
    const pinned = join(ws.work, 'pinned.json');
    writeFileSync(pinned, JSON.stringify({ ...config, train: { ...config.train, model: { ...config.train.model, num_classes: 7 } } }));
    expect(await run(TRAIN_STAGES, ['train', '--config', pinned])).not.toBe(0);
    expect(await trainRuns()).toBe(before);
    // what those commands said, and that it is a typed error carrying both counts
    const store = await ManifestStore.open(manifest);
    try {
      const scope = { name: 'lists', ownFolder: false };
      const initError = await checkTrainClasses(store, validateConfig({ ...config, train: { ...config.train, init: pth } }), scope).catch(
        (e: unknown) => e,
      );
      expect(initError).toBeInstanceOf(ClassCountError);
      expect(initError).toMatchObject({
        expected: 11,
        got: 7,
        message: `train.init (--init): the head of ${pth}: expected 11 classes (those of dataset "lists"), got 7`,
      });
      const pinnedError = await checkTrainClasses(store, validateConfig(JSON.parse(readFileSync(pinned, 'utf8'))), scope).catch(
        (e: unknown) => e,
      );
      expect(pinnedError).toMatchObject({
        expected: 11,
        got: 7,
        message: 'train.model.num_classes: expected 11 classes (those of dataset "lists"), got 7',
      });
    } finally {
      await store.close();
    }
  }, 120_000);

  for (const classes of [
    ['no', 'yes'],
    ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Fear'],
  ]) {
    it(`${classes.length} classes: trains and evaluates with the class names`, async () => {
      const ws = await listDataset(classes, { train: classes.length > 2 ? 1 : 2, test: 1 });
      expect(await run(TRAIN_STAGES, ['datasets', '--config', ws.config])).toBe(0);
      expect(await run(TRAIN_STAGES, ['train', '--config', ws.config, '--direction', 'forward'])).toBe(0);
      expect(await run(EVAL_STAGES, ['eval', '--config', ws.config])).toBe(0);
      const report = await readReport(join(ws.data, 'reports/latest'));
      expect(report.classNames).toEqual(classes);
      expect(report.results.combined.confusion).toHaveLength(classes.length);
      expect(report.results.combined.support).toEqual(classes.map(() => 1));
      if (classes.length > 2) return;
      // a class added to the config's names (no clip label changes): the trained network is made again with a head to match
      const config = JSON.parse(readFileSync(ws.config, 'utf8')) as { ingest: { datasets: Array<Record<string, unknown>> } };
      config.ingest.datasets[0] = { ...config.ingest.datasets[0], labels: [...classes, 'maybe'] };
      writeFileSync(ws.config, JSON.stringify(config));
      expect(await run(EXTRACT_STAGES, ['ingest', '--config', ws.config])).toBe(0);
      expect(await run(TRAIN_STAGES, ['datasets', '--config', ws.config])).toBe(0);
      expect(await run(TRAIN_STAGES, ['train', '--config', ws.config, '--direction', 'forward'])).toBe(0);
      const sidecar = JSON.parse(readFileSync(join(ws.data, 'runs/raw_forward/best.json'), 'utf8')) as { config: { num_classes: number } };
      expect(sidecar.config.num_classes).toBe(3);
    }, 120_000);
  }
});
