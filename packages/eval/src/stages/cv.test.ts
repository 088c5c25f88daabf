/**
 * `pthnet cv` end to end on generated MAFW- and DFEW-shaped trees with five folds: ingest with
 * the real layouts, extract once with the tiny ViT fixture, then cross-validate; killed (SIGKILL)
 * in fold 3, the rerun finishes folds 3-5 without redoing 1-2, and a third run does nothing.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ManifestStore,
  cvReportIdentity,
  foldSplit,
  foldStatus,
  formatFoldStatus,
  reportIdentity,
  selectBackend,
  trainingRunIdentity,
} from 'shared';
import { dispatch } from 'shared/cli';
import { compareReportPaths, readCvReport } from '../cv-report/index.js';
import { readReport } from '../report/index.js';
import { EVAL_STAGES } from './index.js';
import { MAFW_LABELS, foldClips, foldWorkspace, writeDfewTree, writeMafwTree } from './test-support/fold-trees.js';

const ROOT = join(import.meta.dirname, '../../../..');

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `pthnet cv` in a child process; SIGKILLed as soon as its stderr shows `killOn`, when given. */
function cvChild(config: string, killOn?: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/pthnet.ts', 'cv', '--config', config], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killOn !== undefined && stderr.includes(killOn)) child.kill('SIGKILL');
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('pthnet cv on a generated MAFW tree (11 classes, 5 folds)', () => {
  let ws: { work: string; config: string; data: string };
  beforeAll(async () => {
    const clips = foldClips(15, MAFW_LABELS.length);
    ws = await foldWorkspace({ name: 'mafw', layout: 'mafw', media: 'frames' }, (root) => writeMafwTree(root, clips, MAFW_LABELS), true);
  }, 120_000);

  it('ingests every fold, reporting the line that fits no format with its file and line', async () => {
    const store = await ManifestStore.open(join(ws.data, 'manifest.sqlite'));
    try {
      expect(await store.clips.getLabelMap('mafw')).toEqual(MAFW_LABELS);
      expect(await store.clips.countClips('mafw')).toBe(15);
      for (let fold = 1; fold <= 5; fold++) {
        expect(await store.clips.listClips({ dataset: 'mafw', split: foldSplit(fold, 'test') })).toHaveLength(3);
        expect(await store.clips.listClips({ dataset: 'mafw', split: foldSplit(fold, 'train') })).toHaveLength(12);
      }
      const malformed = await store.clips.listIngestIssues({ dataset: 'mafw', reason: 'malformed_line' });
      expect(malformed).toHaveLength(1);
      expect(malformed[0]?.detail).toContain('set_1/train.txt:2: malformed line "this line fits no format at all"');
    } finally {
      await store.close();
    }
  });

  it('killed in fold 3, a rerun finishes folds 3-5 without redoing 1-2; the report holds the mean of the folds; a third run does nothing', async () => {
    const killed = await cvChild(ws.config, '[cv] fold 3: train forward');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const manifest = join(ws.data, 'manifest.sqlite');
    const runsOf = async () => {
      const store = await ManifestStore.open(manifest);
      try {
        return await Promise.all(
          [1, 2, 3, 4, 5].map((fold) =>
            Promise.all(
              (['forward', 'reversed'] as const).map(async (direction) => {
                const row = await store.artifacts.getArtifact(trainingRunIdentity('mafw', { direction, source: 'raw', fold }));
                return { status: row?.status, runId: row?.runId, completedAt: row?.completedAt?.getTime() };
              }),
            ),
          ),
        );
      } finally {
        await store.close();
      }
    };
    const before = await runsOf();
    expect(
      before
        .slice(0, 2)
        .flat()
        .map((r) => r.status),
    ).toEqual(['done', 'done', 'done', 'done']);
    expect(before[2]?.[0]?.status).not.toBe('done');
    const firstRun = before[0]?.[0]?.runId;
    // status tells, per fold, what is done
    const store0 = await ManifestStore.open(manifest);
    try {
      const kinds = ['packed-dataset', 'training-run', 'report', 'cv-report'] as const;
      const status = foldStatus((await Promise.all(kinds.map((kind) => store0.artifacts.listArtifacts({ kind })))).flat());
      expect(status.folds.slice(0, 2).map((f) => [f.fold, f.datasets, f.runs, f.report])).toEqual([
        [1, { done: 4, total: 4 }, { done: 2, total: 2 }, 'done'],
        [2, { done: 4, total: 4 }, { done: 2, total: 2 }, 'done'],
      ]);
      expect(status.folds[2]).toMatchObject({ fold: 3, datasets: { done: 4, total: 4 }, report: null });
      expect(status.cvReports).toEqual([]);
      expect(formatFoldStatus(status).join('\n')).toMatch(/mafw +set_2 +4\/4 +2\/2 +done/);
    } finally {
      await store0.close();
    }

    const finished = await cvChild(ws.config);
    expect(finished.code, finished.stderr).toBe(0);
    const after = await runsOf();
    // folds 1-2: the same rows, untouched; folds 3-5: made by the second run
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    const secondRun = after[2]?.[0]?.runId;
    expect(secondRun).not.toBe(firstRun);
    for (const fold of after.slice(2)) for (const run of fold) expect(run).toMatchObject({ status: 'done', runId: secondRun });
    expect(finished.stderr).not.toContain('[cv] fold 1: train forward\n[train set_1');

    const cvDir = join(ws.data, 'reports/cv');
    const cv = await readCvReport(join(cvDir, 'cv.json'));
    expect(cv.folds.map((f) => f.fold)).toEqual([1, 2, 3, 4, 5]);
    expect(cv.classNames).toEqual(MAFW_LABELS);
    const folds = await Promise.all([1, 2, 3, 4, 5].map((k) => readReport(join(cvDir, `set_${k}`))));
    for (const model of ['forward', 'reversed', 'combined'] as const) {
      for (const metric of ['uar', 'war'] as const) {
        expect(cv.mean[model]?.[metric]).toBeCloseTo(mean(folds.map((r) => r.results[model]?.[metric] ?? Number.NaN)), 12);
      }
    }
    // the summed confusion matrix counts every test clip once: 15 clips in 5 folds
    expect(cv.pooled.numSamples).toBe(15);
    expect(cv.pooled.confusion.flat().reduce((a, b) => a + b, 0)).toBe(15);
    const md = readFileSync(join(cvDir, 'report.md'), 'utf8');
    for (const name of MAFW_LABELS) expect(md).toContain(name);
    expect(cv.charts).toEqual(['folds.png', 'confusion_combined.png']);

    const again = await cvChild(ws.config);
    expect(again.code, again.stderr).toBe(0);
    expect(await runsOf()).toEqual(after);
    const store = await ManifestStore.open(manifest);
    try {
      const cvRuns = await store.runs.listRuns({ stage: 'cv' });
      expect(cvRuns.map((r) => r.outcome)).toEqual(['ok', 'ok', 'interrupted']);
      expect(JSON.parse(cvRuns[0]?.counts ?? '{}')).toEqual({ folds: 5, trained: 0, reports: 0 });
      expect((await store.artifacts.getArtifact(cvReportIdentity('mafw', 'reports/cv')))?.runId).toBe(secondRun);
      expect((await store.artifacts.getArtifact(reportIdentity('mafw', 'reports/cv/set_1')))?.runId).toBe(firstRun);
    } finally {
      await store.close();
    }
  }, 300_000);
});

describe('pthnet cv on a generated DFEW tree (ingested with "folds": [1, 2, 3, 4, 5])', () => {
  it('runs the five folds in process and writes one report; eval --compare takes two cv reports', async () => {
    await selectBackend('wasm');
    const ws = await foldWorkspace({ name: 'dfew', layout: 'dfew', folds: [1, 2, 3, 4, 5], sources: ['raw'] }, (root) =>
      writeDfewTree(root, foldClips(10, 7)),
    );
    expect(await dispatch(EVAL_STAGES, ['cv', '--config', ws.config, '--folds', '1-5', '--out', 'reports/dfew-cv'])).toBe(0);
    const cv = await readCvReport(join(ws.data, 'reports/dfew-cv/cv.json'));
    expect(cv.folds.map((f) => [f.fold, f.numSamples])).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
      [4, 2],
      [5, 2],
    ]);
    expect(cv.classNames).toEqual(['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear']);
    // DFEW is published as the 5-fold mean: the report shows it beside ours
    expect(cv.published.map((p) => p.note)).toEqual(['5-fold mean']);
    const dir = join(ws.data, 'reports/dfew-cv');
    expect(await dispatch(EVAL_STAGES, ['eval', '--compare', dir, dir])).toBe(0);
    const comparison = await compareReportPaths(dir, dir);
    expect(comparison.rows.find((r) => r.metric === 'mean WAR')?.delta).toBe(0);
    expect(comparison.rows.filter((r) => r.metric.startsWith('set_')).length).toBe(3 * 2 * 5);
    // a cv report and a fold's eval report are not compared with each other
    expect(await dispatch(EVAL_STAGES, ['eval', '--compare', dir, join(dir, 'set_1')])).not.toBe(0);
    // folds that were not ingested are named before anything runs
    expect(await dispatch(EVAL_STAGES, ['cv', '--config', ws.config, '--folds', '6'])).not.toBe(0);
  }, 300_000);
});
