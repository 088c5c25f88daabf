import { describe, expect, it } from 'vitest';
import { csvField, formatFloat32, markdownTable, percent, publishedResultsFor, tableVColumnOrder } from './format.js';

describe('formatFloat32', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(1.6775616))).toBe('1.6775616');
    expect(formatFloat32(-2)).toBe('-2');
    expect(formatFloat32(Math.fround(1e-8))).toBe('1e-8');
    for (const value of [Math.fround(Math.PI), Math.fround(-123456.789), Math.fround(3.4e38)]) {
      expect(Math.fround(Number(formatFloat32(value)))).toBe(value);
    }
  });
});

describe('csvField', () => {
  it('quotes only fields that need it, doubling quotes', () => {
    expect(csvField('Action/Sad/0010')).toBe('Action/Sad/0010');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(3)).toBe('3');
  });
});

describe('markdownTable', () => {
  it('aligns columns and escapes pipes', () => {
    expect(markdownTable(['a', 'b'], [['x|y', '1']], ['l', 'r'])).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
  });
});

describe('percent', () => {
  it('shows two decimals and n/a for undefined recall', () => {
    expect(percent(0.385791)).toBe('38.58');
    expect(percent(1)).toBe('100.00');
    expect(percent(null)).toBe('n/a');
  });
});

describe('tableVColumnOrder', () => {
  it('puts alphabetically ordered labels into the order of Table V', () => {
    const alphabetical = ['Angry', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad', 'Surprise'];
    expect(tableVColumnOrder(alphabetical).map((i) => alphabetical[i])).toEqual([
      'Happy',
      'Sad',
      'Neutral',
      'Angry',
      'Surprise',
      'Disgust',
      'Fear',
    ]);
    const spelledOut = ['Happiness', 'Sadness', 'Neutral', 'Anger', 'Surprise', 'Disgust', 'Fear'];
    expect(tableVColumnOrder(spelledOut)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('keeps label order for other class sets', () => {
    expect(tableVColumnOrder(['b', 'a', 'c'])).toEqual([0, 1, 2]);
  });
});

describe('publishedResultsFor', () => {
  it('matches the dataset name loosely and filters by setting', () => {
    expect(publishedResultsFor('ferv39k', true).map((r) => [r.model, r.uar, r.war])).toEqual([
      ['forward', 39.83, 49.65],
      ['reversed', 39.23, 48.07],
      ['combined', 40.29, 50.47],
    ]);
    expect(publishedResultsFor('FERV39k', undefined)).toHaveLength(6);
    expect(publishedResultsFor('DFEW_set_3', false).map((r) => [r.uar, r.war])).toEqual([[52.87, 62.09]]);
    expect(publishedResultsFor('MAFW', undefined)).toEqual([]);
  });
});
