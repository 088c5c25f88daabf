import { describe, expect, it } from 'vitest';
import { metricsFromConfusion } from 'shared';
import { compareReports, formatComparison } from './compare.js';
import type { ReportMetricsFile } from './types.js';

function report(confusion: number[][], classNames = ['Happy', 'Sad'], forward?: number[][]): ReportMetricsFile {
  const combined = metricsFromConfusion(confusion);
  return {
    format: 'pthnet-eval-report',
    version: 1,
    dataset: 'FERV39k',
    classNames,
    mu: 0.7,
    numSamples: combined.numSamples,
    faceCrops: null,
    results: forward === undefined ? { combined } : { forward: metricsFromConfusion(forward), combined },
    sweep: null,
    published: [],
    charts: [],
  };
}

describe('compareReports', () => {
  // a: WAR 6/10, recall 3/5, 3/5; b: WAR 7/10, recall 4/5, 3/5
  const a = report([
    [3, 2],
    [2, 3],
  ]);
  const b = report(
    [
      [4, 1],
      [2, 3],
    ],
    ['Happy', 'Sad'],
    [
      [5, 0],
      [5, 0],
    ],
  );

  it('gives b - a in percentage points for every model and metric', () => {
    const { rows, warnings } = compareReports(a, b);
    expect(warnings).toEqual([]);
    const find = (model: string, metric: string) => rows.find((r) => r.model === model && r.metric === metric)!;
    expect(find('combined', 'WAR').a).toBeCloseTo(60, 10);
    expect(find('combined', 'WAR').b).toBeCloseTo(70, 10);
    expect(find('combined', 'WAR').delta).toBeCloseTo(10, 10);
    expect(find('combined', 'UAR').delta).toBeCloseTo(10, 10);
    expect(find('combined', 'recall Happy').delta).toBeCloseTo(20, 10);
    expect(find('combined', 'recall Sad').delta).toBeCloseTo(0, 10);
    // forward only in b: no difference to report
    expect(find('forward', 'WAR')).toEqual({ model: 'forward', metric: 'WAR', a: null, b: 50, delta: null });
    expect(rows.some((r) => r.model === 'reversed')).toBe(false);
  });

  it('warns when the reports are not comparable', () => {
    const other = {
      ...report(
        [
          [1, 0],
          [0, 1],
        ],
        ['Angry', 'Fear'],
      ),
      dataset: 'DFEW',
      mu: 0.5,
    };
    const { rows, warnings } = compareReports(a, other);
    expect(warnings).toEqual([
      'different datasets: FERV39k and DFEW',
      'different test sets: 10 and 2 clips',
      'different classes: [Happy, Sad] and [Angry, Fear]; per-class recall not compared',
      'different mu for the combination: 0.7 and 0.5',
    ]);
    expect(rows.map((r) => r.metric)).toEqual(['WAR', 'UAR', 'UAR (reference scoring)', 'weighted F1']);
  });

  it('prints an aligned table', () => {
    const text = formatComparison(compareReports(a, b), { a: 'run1', b: 'run2' });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^model\s+metric\s+run1\s+run2\s+run2 - run1$/);
    expect(lines.find((l) => l.startsWith('combined  WAR'))).toMatch(/60\.00\s+70\.00\s+\+10\.00$/);
    expect(lines.find((l) => l.startsWith('forward   WAR'))).toMatch(/n\/a\s+50\.00\s+n\/a$/);
  });
});
