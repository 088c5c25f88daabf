import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError, readPngSize } from 'shared';
import type { TrainLogRecord } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineLogits, sweepMu } from '../combine/index.js';
import { argmaxRows, computeMetrics } from 'shared';
import type { LogitMatrix } from 'shared';
import { REPORT_CHART_SIZES } from './constants.js';
import { readReport, writeReport } from './report.js';
import type { PredictionRow, ReportInput, ReportMetricsFile } from './types.js';

const CLASS_NAMES = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];
const K = CLASS_NAMES.length;

/** A deterministic pseudo-random stream (LCG) so the test data never changes. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** 30 clips, no Fear clip (class 6 absent), unbalanced; logits lean towards the true class. */
function makeData() {
  const random = lcg(7);
  const labels = Array.from({ length: 30 }, (_, i) => (i < 24 ? i % 6 : 0)); // Happy 10, the others 4
  const logits = (bias: number): LogitMatrix => {
    const data = new Float32Array(labels.length * K);
    labels.forEach((label, i) => {
      for (let c = 0; c < K; c++) data[i * K + c] = random() * 2 + (c === label ? bias : 0);
    });
    return { data, shape: [labels.length, K] };
  };
  return { labels, forward: logits(1.2), reversed: logits(1.0) };
}

function buildInput(overrides: Partial<ReportInput> = {}): ReportInput {
  const { labels, forward, reversed } = makeData();
  const mu = 0.7;
  const combined = combineLogits(forward, reversed, mu);
  const predicted = argmaxRows(combined);
  const row = (m: LogitMatrix, i: number) => m.data.subarray(i * K, (i + 1) * K);
  const predictions: PredictionRow[] = labels.map((label, i) => ({
    clipId: `Action/${CLASS_NAMES[label]}/${String(i).padStart(4, '0')}`,
    label,
    forwardLogits: row(forward, i),
    reversedLogits: row(reversed, i),
    combinedLogits: row(combined, i),
    predicted: predicted[i]!,
  }));
  const epochLog = (run: number): TrainLogRecord[] =>
    [0, 1, 2].flatMap(
      (epoch) =>
        [
          {
            type: 'step',
            epoch,
            step: epoch * 2,
            lr: 0.005,
            loss: 2 - epoch * 0.4 - run * 0.1,
            loss_ce: 1.8,
            loss_kl_L: 0.1,
            loss_kl_M: 0.1,
          },
          {
            type: 'epoch',
            epoch,
            war: 0.4 + epoch * 0.03 - run * 0.01,
            uar: 0.3 + epoch * 0.02,
            loss: 1.9 - epoch * 0.4 - run * 0.1,
            time_s: 12,
          },
        ] as TrainLogRecord[],
    );
  return {
    dataset: 'FERV39k',
    classNames: CLASS_NAMES,
    forward: computeMetrics(forward, labels),
    reversed: computeMetrics(reversed, labels),
    combined: computeMetrics(combined, labels),
    mu,
    sweep: sweepMu(forward, reversed, labels),
    predictions,
    curves: { forward: epochLog(0), reversed: epochLog(1) },
    faceCrops: false,
    ...overrides,
  };
}

/** Splits one CSV line; the test data has no quoted fields. */
const cells = (line: string) => line.split(',');

describe('writeReport', () => {
  let dir: string;
  let input: ReportInput;
  let metrics: ReportMetricsFile;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pthnet-report-'));
    input = buildInput();
    await writeReport(dir, input);
    metrics = JSON.parse(await readFile(path.join(dir, 'metrics.json'), 'utf8')) as ReportMetricsFile;
    if (process.env.PTHNET_KEEP_CHARTS) console.log(`report written to ${dir}`);
  });
  afterAll(async () => {
    if (!process.env.PTHNET_KEEP_CHARTS) await rm(dir, { recursive: true, force: true });
  });

  it('writes every file, leaving no temp file behind', async () => {
    expect((await readdir(dir)).sort()).toEqual([
      'confusion_combined.png',
      'confusion_forward.png',
      'confusion_reversed.png',
      'metrics.json',
      'mu_sweep.png',
      'predictions.csv',
      'report.md',
      'training_curves.png',
    ]);
  });

  it('writes metrics.json with the metrics, the sweep and the published numbers', () => {
    expect(metrics.format).toBe('pthnet-eval-report');
    expect(metrics.numSamples).toBe(30);
    expect(metrics.mu).toBe(0.7);
    expect(metrics.results.combined.war).toBeCloseTo(input.combined.war, 12);
    expect(metrics.results.combined.confusion).toEqual(input.combined.confusion);
    expect(metrics.results.combined.absentClasses).toEqual([6]);
    expect(metrics.results.combined.perClassRecall[6]).toBeNull();
    expect(metrics.sweep?.map((s) => s.mu)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(metrics.sweep?.[7]?.war).toBeCloseTo(input.combined.war, 12);
    // faceCrops false: only the raw-video rows of Table V
    expect(metrics.published.map((p) => [p.model, p.uar, p.war])).toEqual([
      ['forward', 38.58, 47.7],
      ['reversed', 37.82, 47.5],
      ['combined', 38.78, 48.34],
    ]);
  });

  it('writes predictions.csv with one row per clip and the logit columns', async () => {
    const lines = (await readFile(path.join(dir, 'predictions.csv'), 'utf8')).trimEnd().split('\n');
    const header = cells(lines[0]!);
    expect(header.slice(0, 3)).toEqual(['clip_id', 'label', 'label_name']);
    expect(header.slice(3, 10)).toEqual(CLASS_NAMES.map((n) => `forward_${n}`));
    expect(header.slice(10, 17)).toEqual(CLASS_NAMES.map((n) => `reversed_${n}`));
    expect(header.slice(17, 24)).toEqual(CLASS_NAMES.map((n) => `combined_${n}`));
    expect(header.slice(24)).toEqual(['predicted', 'predicted_name']);
    expect(lines).toHaveLength(31);
    const first = cells(lines[1]!);
    const row = input.predictions[0]!;
    expect(first[0]).toBe(row.clipId);
    expect(Number(first[1])).toBe(row.label);
    // float32 logits round-trip exactly through the CSV
    expect(first.slice(3, 10).map((v) => Math.fround(Number(v)))).toEqual(Array.from(row.forwardLogits));
    expect(first.slice(17, 24).map((v) => Math.fround(Number(v)))).toEqual(Array.from(row.combinedLogits));
    expect(Number(first[24])).toBe(row.predicted);
    expect(first[25]).toBe(CLASS_NAMES[row.predicted]);
  });

  it('writes report.md with the Table V layout, the paper rows and the absent-class note', async () => {
    const markdown = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(markdown).toContain('| Model | Happy | Sad | Neutral | Angry | Surprise | Disgust | Fear | UAR | WAR |');
    const pct = (x: number) => (x * 100).toFixed(2);
    const c = input.combined;
    const recalls = c.perClassRecall.map((r) => (r === null ? 'n/a' : pct(r)));
    expect(markdown).toContain(`| Combined, mu = 0.7 (ours) | ${recalls.join(' | ')} | ${pct(c.uar)} | ${pct(c.war)} |`);
    expect(markdown).toContain('| Combined (paper, no face detection/alignment) | – | – | – | – | – | – | – | 38.78 | 48.34 |');
    expect(markdown).toMatch(/Fear has no clip in the test labels/);
    expect(markdown).toContain(`combined: ${pct(c.uarReference)} against ${pct(c.uar)}`);
    expect(markdown).toContain('![UAR and WAR against mu](mu_sweep.png)');
    expect(markdown).toContain(`| **0.7** | ${pct(c.uar)} | ${pct(c.war)} |`);
  });

  it('writes PNG charts of the configured sizes', async () => {
    const sizes: Record<string, { width: number; height: number }> = {
      'confusion_combined.png': REPORT_CHART_SIZES.confusion,
      'confusion_forward.png': REPORT_CHART_SIZES.confusion,
      'mu_sweep.png': REPORT_CHART_SIZES.muSweep,
      'training_curves.png': REPORT_CHART_SIZES.trainingCurves,
    };
    for (const [file, size] of Object.entries(sizes)) {
      expect(readPngSize(await readFile(path.join(dir, file)))).toEqual(size);
    }
  });

  it('reads the report back', async () => {
    const read = await readReport(dir);
    expect(read.results.combined.uar).toBeCloseTo(input.combined.uar, 12);
    await expect(readReport(path.join(dir, 'report.md'))).rejects.toThrow(InputError);
  });
});

describe('writeReport without charts or reversed network', () => {
  it('writes only the text files, and DFEW gets both published settings', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pthnet-report-'));
    try {
      const full = buildInput();
      const input = buildInput({
        dataset: 'DFEW fold 1',
        reversed: undefined,
        sweep: undefined,
        faceCrops: undefined,
        combined: full.forward!,
        mu: 1,
        predictions: full.predictions.map(({ reversedLogits: _unused, ...row }) => ({ ...row, combinedLogits: row.forwardLogits })),
      });
      await writeReport(dir, input, { charts: false });
      expect((await readdir(dir)).sort()).toEqual(['metrics.json', 'predictions.csv', 'report.md']);
      const header = (await readFile(path.join(dir, 'predictions.csv'), 'utf8')).split('\n')[0]!;
      expect(header.includes('reversed_')).toBe(false);
      const metrics = (await readReport(dir)) as ReportMetricsFile;
      expect(metrics.published.map((p) => [p.setting, p.uar, p.war])).toEqual([
        ['raw', 52.87, 62.09],
        ['face', 62.28, 70.85],
      ]);
      const markdown = await readFile(path.join(dir, 'report.md'), 'utf8');
      expect(markdown).toContain('mean over the 5 folds');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects inconsistent input naming the key', async () => {
    const input = buildInput();
    await expect(writeReport('/nonexistent-never-created', { ...input, classNames: CLASS_NAMES.slice(0, 6) })).rejects.toThrow(
      /report combined: expected metrics over 6 classes/,
    );
    await expect(writeReport('/nonexistent-never-created', { ...input, predictions: input.predictions.slice(1) })).rejects.toThrow(
      /predictions: expected 30 rows/,
    );
    const badRow = { ...input.predictions[0]!, predicted: 9 };
    await expect(
      writeReport('/nonexistent-never-created', { ...input, predictions: [badRow, ...input.predictions.slice(1)] }),
    ).rejects.toThrow(/predictions\[0\]\.predicted/);
    await expect(writeReport('/nonexistent-never-created', { ...input, mu: 2 })).rejects.toThrow(/report mu/);
  });
});
