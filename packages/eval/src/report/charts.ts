import type { VegaLiteSpec } from 'shared';
import type { MuSweepEntry } from '../combine/index.js';
import { REPORT_CHART_SIZES } from './constants.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const AXIS_CONFIG = { labelFontSize: 13, titleFontSize: 14 };

/**
 * Heatmap of a confusion matrix: rows = true class, columns = predicted class, each cell shows
 * its count. Colour is the share of the true class's clips (the row-normalised value), so a
 * rare class's row is as readable as a frequent one's.
 */
export function confusionMatrixSpec(confusion: readonly (readonly number[])[], classNames: readonly string[], title: string): VegaLiteSpec {
  const rowTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  // Row labels carry the class size, so an empty (absent) class is visible as such.
  const rowNames = classNames.map((name, truth) => `${name} (n=${rowTotals[truth] ?? 0})`);
  const values = confusion.flatMap((row, truth) =>
    row.map((count, guess) => ({
      truth: rowNames[truth] ?? String(truth),
      predicted: classNames[guess] ?? String(guess),
      count,
      // biome-ignore lint/style/noNonNullAssertion: rowTotals is confusion.map(...), so it has an entry for every row index truth
      share: rowTotals[truth]! > 0 ? count / rowTotals[truth]! : 0,
    })),
  );
  const cell = Math.max(44, Math.min(80, Math.floor(560 / Math.max(1, classNames.length))));
  const side = cell * classNames.length;
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      fontSize: 16,
      subtitle: 'rows: true class, columns: predicted class; colour: share of the row',
      subtitleFontSize: 12,
    },
    data: { values },
    width: side,
    height: side,
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: [...classNames], title: 'predicted', axis: { labelAngle: -40, orient: 'top' } },
      y: { field: 'truth', type: 'nominal', sort: rowNames, title: 'true' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'share of row',
            // from white, so empty cells read as empty
            scale: { domain: [0, 1], range: ['#ffffff', '#08519c'], interpolate: 'rgb' },
            legend: { format: '.0%' },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: cell >= 60 ? 15 : 13 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: { axis: AXIS_CONFIG, legend: { labelFontSize: 12, titleFontSize: 12 } },
  };
}

/**
 * Pixel size of a confusion-matrix PNG for `numClasses` classes: the charts are scaled to fit, so
 * past 7 classes the picture grows with the matrix (about 70 px per class) and its labels and
 * counts keep the size they have at 7 instead of shrinking.
 */
export function confusionChartSize(numClasses: number): { width: number; height: number } {
  const base = REPORT_CHART_SIZES.confusion;
  const extra = 70 * Math.max(0, numClasses - 7);
  return { width: base.width + extra, height: base.height + extra };
}

/** UAR and WAR (%) against mu, with the chosen mu marked. */
export function muSweepSpec(sweep: readonly MuSweepEntry[], chosenMu: number, title: string): VegaLiteSpec {
  const values = sweep.flatMap(({ mu, metrics }) => [
    { mu, metric: 'UAR', value: metrics.uar * 100 },
    { mu, metric: 'WAR', value: metrics.war * 100 },
  ]);
  const x = {
    field: 'mu',
    type: 'quantitative',
    title: 'mu (weight of the forward network)',
    scale: { domain: [0, 1] },
    axis: { values: sweep.map((entry) => entry.mu), format: '.1f' },
  };
  return {
    $schema: SCHEMA,
    title: { text: title, fontSize: 16 },
    width: 600,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: { size: 60, filled: true } },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } },
          color: { field: 'metric', type: 'nominal', title: 'metric', scale: { domain: ['UAR', 'WAR'], range: ['#ff7f0e', '#1f77b4'] } },
          // dash and shape keep both curves visible where UAR and WAR coincide
          strokeDash: {
            field: 'metric',
            type: 'nominal',
            title: 'metric',
            scale: {
              domain: ['UAR', 'WAR'],
              range: [
                [6, 4],
                [1, 0],
              ],
            },
          },
          shape: { field: 'metric', type: 'nominal', title: 'metric', scale: { domain: ['UAR', 'WAR'], range: ['square', 'circle'] } },
        },
      },
      {
        data: { values: [{ mu: chosenMu, label: `mu = ${chosenMu}` }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#555555' },
        encoding: { x: { field: 'mu', type: 'quantitative' } },
      },
      {
        data: { values: [{ mu: chosenMu, label: `chosen mu = ${chosenMu}` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, y: 0, fontSize: 12, color: '#333333' },
        encoding: { x: { field: 'mu', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
    config: { axis: AXIS_CONFIG, legend: { labelFontSize: 12, titleFontSize: 12 } },
  };
}
