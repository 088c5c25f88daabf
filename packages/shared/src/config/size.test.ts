import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from './size.js';
import { validateConfig } from './validate.js';

describe('parseByteSize', () => {
  it('reads bytes and sizes with decimal and binary units, case-insensitively', () => {
    expect(parseByteSize(1000)).toBe(1000);
    expect(parseByteSize('1000')).toBe(1000);
    expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('1.5 GB')).toBe(1.5e9);
    expect(parseByteSize('2gib')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('64 kb')).toBe(64_000);
  });

  it('gives null for anything that is not a positive size', () => {
    for (const bad of ['fast', '-3MB', '0', 0, -1, 1.5, '12 parsecs', '', true, null, {}]) expect(parseByteSize(bad)).toBeNull();
  });

  it('formats sizes for messages', () => {
    expect(formatByteSize(512)).toBe('512 B');
    expect(formatByteSize(1536)).toBe('1.50 KiB');
    expect(formatByteSize(101 * 1024 ** 2)).toBe('101 MiB');
    expect(formatByteSize(4 * 1_011_610_752)).toBe('3.77 GiB');
  });
});

describe('extract.backbone.weightBudget', () => {
  it('defaults to null and takes bytes or a size, in the file or from --weight-budget', () => {
    expect(validateConfig({}).extract.backbone.weightBudget).toBeNull();
    expect(validateConfig({ extract: { backbone: { weightBudget: 4096 } } }).extract.backbone.weightBudget).toBe(4096);
    const flag = [{ key: 'extract.backbone.weightBudget', value: '1GiB', flag: '--weight-budget' }];
    expect(validateConfig({}, flag).extract.backbone.weightBudget).toBe(1024 ** 3);
  });

  it('names the key and the flag for a value that is not a size', () => {
    expect(() => validateConfig({}, [{ key: 'extract.backbone.weightBudget', value: 'lots', flag: '--weight-budget' }])).toThrow(
      'extract.backbone.weightBudget (--weight-budget): expected a positive size such as 512MiB, 2GiB or a number of bytes, got "lots"',
    );
    expect(() => validateConfig({ extract: { backbone: { weightBudget: true } } })).toThrow(
      'extract.backbone.weightBudget (pthnet.config.json): expected a positive size such as 512MiB, 2GiB or a number of bytes, got true',
    );
  });
});
