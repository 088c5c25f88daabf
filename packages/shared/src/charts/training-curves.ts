import { InputError } from '../errors/index.js';
import { RUN_COLORS } from './constants.js';
import type { TrainEpochRecord, TrainingCurvePoint, TrainingCurvesInput, TrainLogRecord, TrainStepRecord, VegaLiteSpec } from './types.js';

/**
 * Turns training logs into long-form points: per run and epoch, the training loss (the epoch
 * record's `loss`, else the mean of that epoch's step losses) and the validation WAR and UAR in
 * percent. A run whose WAR/UAR never exceed 1 logged fractions, so they are scaled by 100.
 */
export function trainingCurvePoints(curves: TrainingCurvesInput): TrainingCurvePoint[] {
  const points: TrainingCurvePoint[] = [];
  for (const run of ['forward', 'reversed'] as const) {
    const records = curves[run];
    if (records === undefined) continue;
    const epochs = records.filter((r): r is TrainEpochRecord => r.type === 'epoch');
    const steps = records.filter((r): r is TrainStepRecord => r.type === 'step');

    const stepLossSums = new Map<number, { sum: number; count: number }>();
    for (const step of steps) {
      if (!Number.isFinite(step.loss)) continue;
      const entry = stepLossSums.get(step.epoch) ?? { sum: 0, count: 0 };
      entry.sum += step.loss;
      entry.count += 1;
      stepLossSums.set(step.epoch, entry);
    }
    const epochLoss = new Map<number, number>();
    for (const [epoch, { sum, count }] of stepLossSums) epochLoss.set(epoch, sum / count);
    for (const record of epochs) {
      if (Number.isFinite(record.loss)) epochLoss.set(record.epoch, record.loss);
    }
    for (const [epoch, value] of [...epochLoss].sort((a, b) => a[0] - b[0])) {
      points.push({ run, epoch, metric: 'loss', value });
    }

    const accuracies = epochs.flatMap((r) => [r.war, r.uar]).filter(Number.isFinite);
    const toPercent = accuracies.length > 0 && Math.max(...accuracies) <= 1 ? 100 : 1;
    for (const record of [...epochs].sort((a, b) => a.epoch - b.epoch)) {
      if (Number.isFinite(record.war)) points.push({ run, epoch: record.epoch, metric: 'WAR', value: record.war * toPercent });
      if (Number.isFinite(record.uar)) points.push({ run, epoch: record.epoch, metric: 'UAR', value: record.uar * toPercent });
    }
  }
  return points;
}

/**
 * A Vega-Lite spec of the training curves: training loss per epoch on top, validation WAR and
 * UAR (%) per epoch below; colour tells the run (forward/reversed), dash tells WAR from UAR.
 * Throws `InputError` when the logs hold no epoch or step record.
 */
export function trainingCurvesSpec(curves: TrainingCurvesInput, title = 'Training curves'): VegaLiteSpec {
  const points = trainingCurvePoints(curves);
  if (points.length === 0) {
    throw new InputError('training curves: expected at least one epoch or step record in the training logs, got none');
  }
  const runs = [...new Set(points.map((p) => p.run))];
  const color = {
    field: 'run',
    type: 'nominal',
    title: 'run',
    scale: { domain: runs, range: runs.map((run) => RUN_COLORS[run]) },
  };
  const epochAxis = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } };
  const panelSize = { width: 640, height: 220 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 16 },
    data: { values: points },
    vconcat: [
      {
        ...panelSize,
        title: 'Training loss',
        transform: [{ filter: "datum.metric === 'loss'" }],
        mark: { type: 'line', point: true },
        encoding: {
          x: epochAxis,
          y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
          color,
        },
      },
      {
        ...panelSize,
        title: 'Validation WAR and UAR',
        transform: [{ filter: "datum.metric !== 'loss'" }],
        mark: { type: 'line', point: true },
        encoding: {
          x: epochAxis,
          y: { field: 'value', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } },
          color,
          strokeDash: {
            field: 'metric',
            type: 'nominal',
            title: 'metric',
            scale: { domain: ['WAR', 'UAR'] },
            // a point symbol cannot show a dash pattern
            legend: {
              symbolType: 'stroke',
              symbolStrokeWidth: 2,
              symbolSize: 300,
              // the legend gives a strokeDash-only symbol no stroke colour of its own
              encode: { symbols: { update: { stroke: { value: '#333333' } } } },
            },
          },
          detail: { field: 'run' },
        },
      },
    ],
    resolve: { scale: { color: 'shared' } },
    config: { axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 13 } },
  };
}

/** Parses a training log (JSON lines); blank lines are skipped. Throws `InputError` naming the line. */
export function parseTrainLog(text: string, source = 'training log'): TrainLogRecord[] {
  const records: TrainLogRecord[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${source} line ${index + 1}: expected a JSON object, got ${line.slice(0, 60)}`, source, {
        cause: error,
      });
    }
    const record = parsed as Partial<TrainLogRecord> | null;
    if (
      typeof record !== 'object' ||
      record === null ||
      (record.type !== 'step' && record.type !== 'epoch') ||
      typeof record.epoch !== 'number'
    ) {
      throw new InputError(
        `${source} line ${index + 1}: expected a record with type 'step' or 'epoch' and a numeric epoch, got ${line.slice(0, 60)}`,
        source,
      );
    }
    records.push(record as TrainLogRecord);
  });
  return records;
}
