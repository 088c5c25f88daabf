import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors/index.js';
import { readPngSize, renderChartPng } from './render.js';
import { parseTrainLog, trainingCurvePoints, trainingCurvesSpec } from './training-curves.js';
import type { TrainLogRecord } from './types.js';

const step = (epoch: number, stepIndex: number, loss: number): TrainLogRecord => ({
  type: 'step',
  epoch,
  step: stepIndex,
  lr: 0.005,
  loss,
  loss_ce: loss,
  loss_kl_L: 0,
  loss_kl_M: 0,
});

const forwardLog: TrainLogRecord[] = [
  step(0, 0, 2.0),
  step(0, 1, 1.0),
  { type: 'epoch', epoch: 0, war: 0.4, uar: 0.3, loss: Number.NaN, time_s: 10 },
  step(1, 2, 0.8),
  { type: 'epoch', epoch: 1, war: 0.45, uar: 0.35, loss: 0.75, time_s: 10 },
];
const reversedLog: TrainLogRecord[] = [
  { type: 'epoch', epoch: 0, war: 38, uar: 29, loss: 1.6, time_s: 9 },
  { type: 'epoch', epoch: 1, war: 44, uar: 33.5, loss: 1.2, time_s: 9 },
];

describe('trainingCurvePoints', () => {
  it('takes the epoch loss, falls back to the mean step loss, and reports accuracies in percent', () => {
    const points = trainingCurvePoints({ forward: forwardLog, reversed: reversedLog });
    const pick = (run: string, metric: string) => points.filter((p) => p.run === run && p.metric === metric).map((p) => [p.epoch, p.value]);
    // epoch 0 has no finite epoch loss: mean of its steps (2 + 1) / 2
    expect(pick('forward', 'loss')).toEqual([
      [0, 1.5],
      [1, 0.75],
    ]);
    expect(pick('forward', 'WAR')).toEqual([
      [0, 40],
      [1, 45],
    ]);
    expect(pick('forward', 'UAR')).toEqual([
      [0, 30],
      [1, 35],
    ]);
    // already in percent: unchanged
    expect(pick('reversed', 'WAR')).toEqual([
      [0, 38],
      [1, 44],
    ]);
    expect(pick('reversed', 'UAR')).toEqual([
      [0, 29],
      [1, 33.5],
    ]);
    expect(pick('reversed', 'loss')).toEqual([
      [0, 1.6],
      [1, 1.2],
    ]);
  });

  it('throws when there is nothing to draw', () => {
    expect(() => trainingCurvesSpec({ forward: [] })).toThrow(InputError);
  });

  it('renders to a PNG of the requested size', async () => {
    const png = await renderChartPng(trainingCurvesSpec({ forward: forwardLog, reversed: reversedLog }), {
      width: 900,
      height: 640,
    });
    expect(readPngSize(png)).toEqual({ width: 900, height: 640 });
    if (process.env.PTHNET_KEEP_CHARTS) {
      const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-charts-'));
      writeFileSync(path.join(dir, 'training_curves.png'), png);
      console.log(`training curves written to ${dir}`);
    }
  });
});

describe('parseTrainLog', () => {
  it('parses JSON lines, skipping blank lines', () => {
    const text = `${JSON.stringify(step(0, 0, 2))}\n\n${JSON.stringify(reversedLog[0])}\n`;
    const records = parseTrainLog(text);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ type: 'step', loss: 2 });
    expect(records[1]).toMatchObject({ type: 'epoch', war: 38 });
  });

  it('names the bad line', () => {
    expect(() => parseTrainLog('{"type":"epoch","epoch":0}\nnot json', 'run/log.jsonl')).toThrow(/run\/log\.jsonl line 2/);
    expect(() => parseTrainLog('{"type":"other","epoch":0}')).toThrow(/line 1.*type 'step' or 'epoch'/);
  });
});
