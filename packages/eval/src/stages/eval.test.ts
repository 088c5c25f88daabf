import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManifestStore, hashFile, readArtifactRecord, readPngSize, reportIdentity, selectBackend } from 'shared';
import { loadPthNetCheckpoint, savePthNetCheckpoint } from 'model';
import { dispatch } from 'shared/cli';
import { dispatchCaptured, dumpManifest } from 'shared/testing';
import { TINY, fixtureWorkspace } from 'train/testing';
import { EVAL_STAGES } from './index.js';

const main = (argv: readonly string[]) => dispatch(EVAL_STAGES, argv);
import { readReport } from '../report/index.js';

interface Expected {
  eval_logits_H: { shape: [number, number]; data: number[] };
}

describe('eval command on the reference fixture', () => {
  let work: string;
  let config: string;
  let expected: Expected;

  beforeAll(async () => {
    await selectBackend('wasm');
    expected = JSON.parse(readFileSync(join(TINY, 'expected.json'), 'utf8')) as Expected;
    ({ work, config } = await fixtureWorkspace('pthnet-eval-', ['forward', 'reversed']));
  });

  it('scores a reference .pth forward and reversed on reference-layout features: logits, metrics, report files', async () => {
    const pth = join(TINY, 'checkpoint_init.pth');
    expect(await main(['eval', '--config', config, '--forward', pth, '--reversed', pth, '--mu', '0.7', '--sweep'])).toBe(0);
    const dir = join(work, 'data/reports/latest');
    const csv = readFileSync(join(dir, 'predictions.csv'), 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    const K = expected.eval_logits_H.shape[1];
    const fwdCols = header
      .map((h, i) => [h, i] as const)
      .filter(([h]) => h.startsWith('forward_'))
      .map(([, i]) => i);
    expect(fwdCols).toHaveLength(K);
    // rows are in clip-id order, which is the fixture's batch order
    csv.slice(1).forEach((line, b) => {
      const cells = line.split(',');
      fwdCols.forEach((col, k) => {
        expect(Math.abs(Number(cells[col]) - expected.eval_logits_H.data[b * K + k]!)).toBeLessThan(1e-4);
      });
    });
    const report = await readReport(dir);
    expect(report.numSamples).toBe(5);
    // same network both ways on the same features: combined = forward
    expect(report.results.combined.war).toBe(report.results.forward!.war);
    expect(report.sweep).toHaveLength(11);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('UAR');
    for (const chart of report.charts) {
      const size = readPngSize(readFileSync(join(dir, chart)));
      expect(size.width).toBeGreaterThan(100);
      expect(size.height).toBeGreaterThan(100);
    }
    // the manifest records the report folder's artifact.json, which lists every file of the report
    const record = await readArtifactRecord(join(dir, 'artifact.json'));
    expect(record.files.map((f) => f.path)).toEqual([...report.charts, 'metrics.json', 'predictions.csv', 'report.md'].sort());
    const store = await ManifestStore.open(join(work, 'data/manifest.sqlite'));
    try {
      expect(await store.artifacts.getArtifact(reportIdentity('ferv39k', 'reports/latest'))).toMatchObject({
        status: 'done',
        path: join(dir, 'artifact.json'),
        contentHash: await hashFile(join(dir, 'artifact.json')),
      });
    } finally {
      await store.close();
    }
    // nothing changed: the report is up to date, and --compare of a report with itself is all zeros
    expect(await main(['eval', '--config', config, '--forward', pth, '--reversed', pth, '--mu', '0.7', '--sweep'])).toBe(0);
    expect(await main(['eval', '--compare', dir, dir])).toBe(0);
  });

  it('scores our safetensors checkpoint (the same weights converted) to the same reference logits', async () => {
    const ours = join(work, 'converted');
    const init = await loadPthNetCheckpoint(join(TINY, 'checkpoint_init.pth'));
    const saved = await savePthNetCheckpoint(ours, {
      stateDict: init.stateDict,
      config: init.config,
      epoch: 0,
      metrics: {},
      provenance: { source: 'checkpoint_init.pth' },
    });
    const out = join(work, 'report-ours');
    expect(await main(['eval', '--config', config, '--forward', saved.weightsPath, '--out', out])).toBe(0);
    const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    const K = expected.eval_logits_H.shape[1];
    const cols = header
      .map((h, i) => [h, i] as const)
      .filter(([h]) => h.startsWith('forward_'))
      .map(([, i]) => i);
    csv.slice(1).forEach((line, b) => {
      const cells = line.split(',');
      cols.forEach((col, k) => {
        expect(Math.abs(Number(cells[col]) - expected.eval_logits_H.data[b * K + k]!)).toBeLessThan(1e-4);
      });
    });
    expect((await readReport(out)).results.reversed).toBeUndefined();
  });

  it('a bad --forward or --reversed checkpoint is refused before anything is recorded: the done report stays done', async () => {
    const pth = join(TINY, 'checkpoint_init.pth');
    expect(await main(['eval', '--config', config, '--forward', pth, '--reversed', pth])).toBe(0);
    const manifest = join(work, 'data', 'manifest.sqlite');
    const before = dumpManifest(manifest);
    const bad = join(work, 'bad.pth');
    writeFileSync(bad, 'PK\u0003\u0004 not a zip after all');
    const errors: string[] = [];
    for (const flags of [
      ['--forward', bad, '--reversed', pth],
      ['--forward', pth, '--reversed', work],
    ]) {
      const run = await dispatchCaptured(EVAL_STAGES, ['eval', '--config', config, ...flags]);
      expect(run.code, flags.join(' ')).toBe(1);
      expect(dumpManifest(manifest), flags.join(' ')).toBe(before);
      errors.push(run.err);
    }
    expect(errors[0]).toMatch(new RegExp(`^pthnet eval: ${bad}`, 'm'));
    expect(errors[1]).toContain(`pthnet eval: ${work}: expected a checkpoint file, got a folder`);
  });
});
