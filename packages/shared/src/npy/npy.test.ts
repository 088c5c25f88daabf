import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors/index.js';
import {
  encodeNpy,
  npyHeader,
  parseNpy,
  parseNpyHeader,
  readNpy,
  readNpyAs,
  readNpyHeader,
  readNpyHeaderSync,
  readNpySync,
  writeNpy,
} from './npy.js';
import type { NpyDtype } from './types.js';
import { fixturesDir } from '../paths/index.js';

const fixtures = fixturesDir();

/** dtype and shape of every fixture, as numpy reports them (read off the headers). */
const FIXTURES: Record<string, { dtype: NpyDtype; shape: number[] }> = {
  'pthnet/tiny/input_H.npy': { dtype: 'float32', shape: [5, 48, 16] },
  'pthnet/tiny/input_M.npy': { dtype: 'float32', shape: [5, 48, 8] },
  'pthnet/tiny/input_L.npy': { dtype: 'float32', shape: [5, 48, 4] },
  'pthnet/tiny/mask_H.npy': { dtype: 'bool', shape: [5, 1, 16] },
  'pthnet/tiny/mask_M.npy': { dtype: 'bool', shape: [5, 1, 8] },
  'pthnet/tiny/mask_L.npy': { dtype: 'bool', shape: [5, 1, 4] },
  'pthnet/tiny/labels.npy': { dtype: 'int64', shape: [5] },
  'videomae/tiny/frames_uint8.npy': { dtype: 'uint8', shape: [2, 16, 40, 56, 3] },
  'videomae/tiny/model_input.npy': { dtype: 'float32', shape: [2, 3, 16, 32, 32] },
  'videomae/tiny/features.npy': { dtype: 'float32', shape: [2, 48] },
};

describe('npy I/O against the numpy fixtures', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-npy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every .npy fixture', () => {
    const found = ['pthnet/tiny', 'videomae/tiny'].flatMap((sub) =>
      readdirSync(path.join(fixtures, sub))
        .filter((name) => name.endsWith('.npy'))
        .map((name) => `${sub}/${name}`),
    );
    expect(found.sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  for (const [name, expected] of Object.entries(FIXTURES)) {
    it(`${name}: loads as ${expected.dtype} ${JSON.stringify(expected.shape)} and writes back byte for byte`, async () => {
      const file = path.join(fixtures, name);
      const array = await readNpy(file);
      expect(array.dtype).toBe(expected.dtype);
      expect(array.shape).toEqual(expected.shape);
      expect(array.data.length).toBe(expected.shape.reduce((a, b) => a * b, 1));
      const out = path.join(dir, name.replaceAll('/', '_'));
      await writeNpy(out, array);
      expect(Buffer.compare(readFileSync(out), readFileSync(file))).toBe(0);
      expect(Buffer.compare(Buffer.from(encodeNpy(array)), readFileSync(file))).toBe(0);
    });
  }

  it('reads the values numpy stored', async () => {
    const mask = await readNpyAs(path.join(fixtures, 'pthnet/tiny/mask_H.npy'), 'bool');
    expect(mask.data).toBeInstanceOf(Uint8Array);
    expect([...mask.data].every((v) => v === 0 || v === 1)).toBe(true);
    // Every clip has at least its first step real; the batch mixes lengths, so some steps are padding.
    for (let clip = 0; clip < 5; clip++) expect(mask.data[clip * 16]).toBe(1);
    expect([...mask.data].includes(0)).toBe(true);
    const labels = await readNpyAs(path.join(fixtures, 'pthnet/tiny/labels.npy'), 'int64');
    expect(labels.data).toBeInstanceOf(BigInt64Array);
    expect([...labels.data].every((v) => v >= 0n && v < 7n)).toBe(true);
    const features = readNpySync(path.join(fixtures, 'videomae/tiny/features.npy'));
    expect(features.data).toBeInstanceOf(Float32Array);
    await expect(readNpyAs(path.join(fixtures, 'pthnet/tiny/labels.npy'), 'float32')).rejects.toThrow('expected dtype float32, got int64');
  });
});

describe('npy headers and validation', () => {
  it('writes numpy.save headers: spacing, growth room, 64-byte alignment, 1-D and 0-D shapes', () => {
    const decode = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
    const oneD = npyHeader('int64', [5]);
    expect(oneD.length).toBe(128);
    expect(decode(oneD.subarray(0, 10))).toBe('\x93NUMPY\x01\x00\x76\x00');
    // 10 prefix bytes + 57-character dict + 20 spaces of growth room for axis 0 + 40 of padding + newline = 128.
    expect(decode(oneD.subarray(10))).toBe(`{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }${' '.repeat(60)}\n`);
    // 0-D: no growth room; 10 + 55 + 1 = 66 is past 64, so padding runs to 128.
    const scalar = npyHeader('float64', []);
    expect(decode(scalar.subarray(10))).toBe(`{'descr': '<f8', 'fortran_order': False, 'shape': (), }${' '.repeat(62)}\n`);
    expect(scalar.length % 64).toBe(0);
    const bytes = encodeNpy({ data: new Int32Array([7, -8, 9, 10, 11, 12]), shape: [2, 3] });
    expect(decode(bytes.subarray(10, 60))).toBe("{'descr': '<i4', 'fortran_order': False, 'shape': ");
    const parsed = parseNpy(bytes);
    expect(parsed).toEqual({ dtype: 'int32', shape: [2, 3], data: new Int32Array([7, -8, 9, 10, 11, 12]) });
  });

  it('stores bool as 0/1 bytes and rejects mismatched dtype, shape or truncated files', async () => {
    const mask = encodeNpy({ data: new Uint8Array([0, 2, 1]), shape: [3], dtype: 'bool' });
    expect([...mask.subarray(mask.length - 3)]).toEqual([0, 1, 1]);
    expect(parseNpy(mask)).toEqual({ dtype: 'bool', shape: [3], data: new Uint8Array([0, 1, 1]) });
    expect(() => encodeNpy({ data: new Float32Array(6), shape: [2, 2] })).toThrow('shape (2, 2) expected 4 elements, got 6');
    expect(() => encodeNpy({ data: new Float32Array(2), shape: [2], dtype: 'int64' })).toThrow(
      'dtype int64 expected a BigInt64Array, got Float32Array',
    );
    const full = encodeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [4] });
    expect(() => parseNpy(full.subarray(0, full.length - 4), 'cut.npy')).toThrow(InputError);
    expect(() => parseNpy(full.subarray(0, full.length - 4), 'cut.npy')).toThrow(
      'expected 4 elements for shape (4), got 3 (truncated file)',
    );
    expect(() => parseNpy(new TextEncoder().encode('not a numpy file at all'), 'junk.npy')).toThrow(
      'cannot read junk.npy: expected a .npy file',
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-npy-'));
    try {
      const big = path.join(dir, 'big_endian.npy');
      const bytes = Buffer.from(encodeNpy({ data: new Float32Array([1]), shape: [1] }));
      bytes.write('>f4', bytes.indexOf('<f4'), 'latin1');
      writeFileSync(big, bytes);
      await expect(readNpy(big)).rejects.toThrow(InputError);
      await expect(readNpy(path.join(dir, 'missing.npy'))).rejects.toThrow(/cannot read .*missing\.npy/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npy headers without the data', () => {
  it('reads shape, dtype and data offset of a numpy-layout file without its data', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-npyhead-'));
    try {
      const file = path.join(dir, 'a.npy');
      const bytes = encodeNpy({ data: new Float32Array(41 * 48), shape: [41, 48] });
      writeFileSync(file, bytes);
      expect(await readNpyHeader(file)).toEqual({
        descr: '<f4',
        dtype: 'float32',
        fortranOrder: false,
        shape: [41, 48],
        dataOffset: bytes.length - 41 * 48 * 4,
        fileSize: bytes.length,
      });
      // Only the header is read: a file cut after it still reports its shape and true size.
      expect(readNpyHeaderSync(file)).toEqual(await readNpyHeader(file));
      writeFileSync(file, bytes.subarray(0, 200));
      expect(await readNpyHeader(file)).toMatchObject({ shape: [41, 48], dataOffset: 128, fileSize: 200 });
      expect(readNpyHeaderSync(file)).toEqual(await readNpyHeader(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a header longer than the probe', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-npyhead-'));
    try {
      const file = path.join(dir, 'long.npy');
      const dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }${' '.repeat(5000)}\n`;
      const bytes = new Uint8Array(10 + dict.length + 8);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
      new DataView(bytes.buffer).setUint16(8, dict.length, true);
      bytes.set(new TextEncoder().encode(dict), 10);
      new DataView(bytes.buffer).setInt32(10 + dict.length, 5, true);
      new DataView(bytes.buffer).setInt32(14 + dict.length, -6, true);
      writeFileSync(file, bytes);
      expect(await readNpyHeader(file)).toMatchObject({ dtype: 'int32', shape: [2], dataOffset: 10 + dict.length });
      expect(readNpyHeaderSync(file)).toEqual(await readNpyHeader(file));
      expect(await readNpy(file)).toEqual({ dtype: 'int32', shape: [2], data: new Int32Array([5, -6]) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses version 2 headers and Fortran order, and names what it does not support', () => {
    const dict = "{'descr': '>f8', 'fortran_order': True, 'shape': (3, 2), }\n";
    const bytes = new Uint8Array(12 + dict.length + 48);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0], 0);
    new DataView(bytes.buffer).setUint32(8, dict.length, true);
    bytes.set(new TextEncoder().encode(dict), 12);
    expect(parseNpyHeader(bytes, 'v2.npy')).toEqual({
      descr: '>f8',
      dtype: undefined,
      fortranOrder: true,
      shape: [3, 2],
      dataOffset: 12 + dict.length,
    });
    expect(() => parseNpy(bytes, 'v2.npy')).toThrow('cannot read v2.npy: expected C order, got fortran_order True');
  });

  it('names the file it cannot read', () => {
    expect(() => parseNpyHeader(new Uint8Array(20), 'f.npy')).toThrow(/f\.npy: expected a \.npy file/);
    const truncated = encodeNpy({ data: new Float32Array(2), shape: [2] }).subarray(0, 40);
    expect(() => parseNpyHeader(truncated, 'g.npy')).toThrow(/g\.npy: expected a \d+-byte \.npy header, got 30 bytes/);
    const v9 = encodeNpy({ data: new Float32Array(2), shape: [2] });
    v9[6] = 9;
    expect(() => parseNpyHeader(v9, 'h.npy')).toThrow('cannot read h.npy: expected .npy format version 1, 2 or 3, got 9');
    const long = new Uint8Array([...encodeNpy({ data: new Float32Array(2), shape: [2] }), 0, 0, 0, 0]);
    expect(() => parseNpy(long, 'i.npy')).toThrow('cannot read i.npy: expected 2 elements for shape (2), got 3 (trailing bytes)');
  });

  it('reads data whose offset is not aligned for its dtype (a copy, same values)', () => {
    const bytes = encodeNpy({ data: new Float64Array([1.5, -2.25]), shape: [2] });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(parseNpy(shifted.subarray(3), 'shifted.npy')).toEqual({ dtype: 'float64', shape: [2], data: new Float64Array([1.5, -2.25]) });
  });
});
