import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ManifestStore, REFERENCE_LABELS, reportIdentity, selectBackend } from 'shared';
import { dispatch } from 'shared/cli';
import { importFeatures } from 'train';
import { TINY, fixtureWorkspace, writeFixtureFeatures } from 'train/testing';
import { TRAIN_STAGES } from 'train/stages';
import { writeLavfiVideo } from 'extract/testing';
import { readReport } from '../report/index.js';
import { EVAL_STAGES } from './index.js';

const main = (argv: readonly string[]) => dispatch([...TRAIN_STAGES, ...EVAL_STAGES], argv);
const PTH = join(TINY, 'checkpoint_init.pth');
const VIDEOMAE = resolve(import.meta.dirname, '../../../../../shared/fixtures/videomae/tiny/checkpoint.pth');
/** The second dataset's label names: other names than the reference ones, so a mix-up shows. */
const DFEW_LABELS = ['a-happy', 'b-sad', 'c-neutral', 'd-angry', 'e-surprise', 'f-disgust', 'g-fear'];

/** Runs a stage, returning its exit code and what it printed. */
async function run(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await main(argv);
    return { code, out: log.mock.calls.flat().join('\n'), err: error.mock.calls.flat().join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('one manifest, two datasets: eval and predict take the dataset into account', () => {
  let work: string;
  let config: string;

  beforeAll(async () => {
    await selectBackend('wasm');
    // the fixture imported as ferv39k and packed while it was the only dataset, then a second one
    ({ work, config } = await fixtureWorkspace('pthnet-two-datasets-', ['forward', 'reversed']));
    const second = join(work, 'dfew-features');
    await writeFixtureFeatures(second, ['', '_rv'], 'Other');
    const store = await ManifestStore.open(join(work, 'data/manifest.sqlite'));
    try {
      await importFeatures(store, { listsDir: second, root: second, dataset: 'dfew', labels: DFEW_LABELS });
    } finally {
      await store.close();
    }
  });

  it('eval refuses to guess, and writes one report per dataset, each named and labelled after its dataset', async () => {
    const refused = await run(['eval', '--config', config, '--forward', PTH, '--reversed', PTH]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('the manifest holds several datasets (dfew, ferv39k); expected --dataset <name>');

    expect((await run(['datasets', '--config', config, '--dataset', 'dfew'])).code).toBe(0);
    for (const dataset of ['dfew', 'ferv39k']) {
      const result = await run(['eval', '--config', config, '--dataset', dataset, '--forward', PTH, '--reversed', PTH, '--json']);
      expect(result.code, result.err).toBe(0);
      expect(JSON.parse(result.out)).toMatchObject({ outcome: 'written', reportDir: join(work, 'data/reports/latest', dataset), clips: 5 });
    }
    const dfew = await readReport(join(work, 'data/reports/latest/dfew'));
    const ferv = await readReport(join(work, 'data/reports/latest/ferv39k'));
    expect(dfew.dataset).toBe('dfew');
    expect(dfew.classNames).toEqual(DFEW_LABELS);
    expect(ferv.dataset).toBe('ferv39k');
    expect(ferv.classNames).toEqual([...REFERENCE_LABELS]);
    // the same network on the same features (under other clip ids): the same scores, in two reports
    expect(dfew.results.combined.war).toBe(ferv.results.combined.war);
    const store = await ManifestStore.open(join(work, 'data/manifest.sqlite'));
    try {
      expect((await store.artifacts.listArtifacts({ kind: 'report' })).map((row) => [row.dataset, row.status])).toEqual([
        ['dfew', 'done'],
        ['ferv39k', 'done'],
      ]);
      expect((await store.artifacts.getArtifact(reportIdentity('dfew', 'reports/latest')))?.path).toBe(
        join(work, 'data/reports/latest/dfew/artifact.json'),
      );
    } finally {
      await store.close();
    }
  });

  it("predict names the classes after the chosen dataset's labels, and refuses to guess which", async () => {
    const predictConfig = join(work, 'predict.config.json');
    const base = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      predictConfig,
      JSON.stringify({
        ...base,
        extract: {
          backbone: { preset: 'custom', checkpoint: VIDEOMAE, custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 } },
        },
      }),
    );
    const video = join(work, 'clip.mp4');
    await writeLavfiVideo(video, 'testsrc2', 18, 40, 32);
    const refused = await run(['predict', video, '--config', predictConfig, '--forward', PTH, '--json']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('the manifest holds several datasets (dfew, ferv39k)');
    for (const [dataset, labels] of [
      ['dfew', DFEW_LABELS],
      ['ferv39k', [...REFERENCE_LABELS]],
    ] as const) {
      const result = await run(['predict', video, '--config', predictConfig, '--dataset', dataset, '--forward', PTH, '--json']);
      expect(result.code, result.err).toBe(0);
      const prediction = JSON.parse(result.out) as { classes: Array<{ index: number; name: string }> };
      for (const c of prediction.classes) expect(c.name).toBe(labels[c.index]);
    }
  });
});
