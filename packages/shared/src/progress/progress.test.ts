import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration } from './progress.js';

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('createProgress (plain mode)', () => {
  it('prints count, percentage, rate and ETA lines', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const chunks: string[] = [];
    (stream as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c.toString()));
    const p = createProgress({ label: 'extract', total: 4, unit: 'clips', stream, plain: true, intervalS: 0 });
    p.tick(1);
    p.tick(1, 'clip-2');
    p.stop();
    const text = chunks.join('');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[extract\] 1\/4 25% [\d.]+ clips\/s ETA \S+$/);
    expect(lines[1]).toMatch(/^\[extract\] 2\/4 50% [\d.]+ clips\/s ETA \S+ clip-2$/);
    expect(lines[2]).toMatch(/^\[extract\] 2\/4 50%/);
  });
});
