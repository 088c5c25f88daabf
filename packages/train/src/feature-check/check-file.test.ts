import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, fileStampSync, hashBytes } from 'shared';
import { checkFeatureFile, checkFeatureHeader } from './check-file.js';
import type { FeatureProblemCode } from './types.js';

/** A .npy file with any header dict (numpy's v1 layout, padded to 64 bytes) and any data bytes. */
function rawNpy(descr: string, shape: string, data: Uint8Array, fortran = false): Uint8Array {
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64));
  // latin1, one byte a character (TextEncoder would write \x93 as two UTF-8 bytes)
  const header = Uint8Array.from(`\x93NUMPY\x01\x00__${dict}\n`, (c) => c.charCodeAt(0));
  new DataView(header.buffer).setUint16(8, header.length - 10, true);
  const bytes = new Uint8Array(header.length + data.length);
  bytes.set(header);
  bytes.set(data, header.length);
  return bytes;
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const good = () => encodeNpy({ data: Float32Array.from({ length: 12 }, (_, i) => i / 10), shape: [3, 4] });

describe('checkFeatureFile: the hostile feature files, each refused with its code and the file named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pthnet-featcheck-'));
  mkdirSync(join(dir, 'a-folder.npy'));
  const cases: Array<[string, Uint8Array | undefined, FeatureProblemCode, RegExp, { rows?: number; width?: number }?]> = [
    ['missing', undefined, 'missing', /expected a feature file, got none/],
    ['not-npy', new TextEncoder().encode('hello, not an array'), 'unreadable', /expected a \.npy file/],
    ['int8', rawNpy('|i1', '(3, 4)', new Uint8Array(12)), 'dtype', /expected float32 \('<f4'\) or float64 \('<f8'\), got '\|i1'/],
    ['float16', rawNpy('<f2', '(3, 4)', new Uint8Array(24)), 'dtype', /got '<f2'/],
    ['big-endian', rawNpy('>f4', '(3, 4)', new Uint8Array(48)), 'big_endian', /got big-endian '>f4'/],
    ['fortran', rawNpy('<f4', '(3, 4)', new Uint8Array(48), true), 'fortran_order', /expected C order/],
    ['rank-3', rawNpy('<f4', '(2, 3, 4)', new Uint8Array(96)), 'rank', /expected a 2-D \[windows, D\] array, got shape \(2, 3, 4\)/],
    ['rank-1', rawNpy('<f4', '(12,)', new Uint8Array(48)), 'rank', /got shape \(12\)/],
    ['zero-rows', rawNpy('<f4', '(0, 4)', new Uint8Array(0)), 'empty', /expected at least one row of features, got shape \(0, 4\)/],
    ['truncated', good().subarray(0, good().length - 5), 'size', /expected \d+ bytes for shape \(3, 4\) <f4, got \d+ \(truncated\)/],
    ['trailing', new Uint8Array([...good(), 1, 2, 3, 4]), 'size', /\(trailing bytes\)/],
    ['2^40-rows', rawNpy('<f4', '(1099511627776, 1408)', f32(1, 2, 3)), 'size', /expected \d{16,} bytes for shape \(1099511627776, 1408\)/],
    [
      'nan',
      rawNpy('<f4', '(2, 2)', f32(0, 1, Number.NaN, 3)),
      'not_finite',
      /got 1 NaN or infinite \(the first, NaN, at row 1, column 0\)/,
    ],
    [
      'inf',
      rawNpy('<f8', '(1, 3)', new Uint8Array(Float64Array.from([-Infinity, 1, Infinity]).buffer)),
      'not_finite',
      /got 2 NaN or infinite \(the first, -Infinity, at row 0, column 0\)/,
    ],
    ['rows', good(), 'rows', /expected 12 rows \(the window count its list gives\), got 3/, { rows: 12 }],
    ['width', good(), 'width', /expected D = 8 \(the dataset's feature width\), got D = 4/, { width: 8 }],
  ];
  for (const [name, bytes, code, message, expected] of cases) {
    it(`${name}: ${code}`, () => {
      const file = join(dir, `${name}.npy`);
      if (bytes !== undefined) writeFileSync(file, bytes);
      const check = checkFeatureFile(file, expected ?? {});
      expect(check).toMatchObject({ ok: false, path: file, code });
      expect(check.ok ? '' : check.detail).toMatch(message);
      expect(check.ok ? '' : check.detail.startsWith(`${file}: `)).toBe(true);
    });
  }
  it('a folder given as a feature file is unreadable, named, by the whole-file and the header check', () => {
    const folder = join(dir, 'a-folder.npy');
    const refused = { ok: false, code: 'unreadable', detail: `${folder}: expected a .npy file, got a folder` };
    expect(checkFeatureFile(folder)).toMatchObject(refused);
    expect(checkFeatureHeader(folder)).toMatchObject(refused);
  });

  it('the header check refuses what the whole-file check refuses, for every header case', () => {
    for (const [name, bytes, code, , expected] of cases) {
      if (code === 'not_finite' || bytes === undefined) continue;
      const file = join(dir, `header-${name}.npy`);
      writeFileSync(file, bytes);
      expect(checkFeatureHeader(file, expected ?? {}).ok ? 'ok' : 'refused', name).toBe('refused');
    }
  });

  it('accepts float32 and float64 [rows, D] files, giving the hash and size the manifest records', () => {
    const f32file = join(dir, 'ok32.npy');
    writeFileSync(f32file, good());
    expect(checkFeatureFile(f32file, { rows: 3, width: 4 })).toEqual({
      ok: true,
      path: f32file,
      hash: hashBytes(good()),
      bytes: good().length,
      rows: 3,
      width: 4,
      stamp: fileStampSync(f32file)?.stamp,
    });
    const f64file = join(dir, 'ok64.npy');
    writeFileSync(f64file, encodeNpy({ data: Float64Array.from([1, 2]), shape: [1, 2] }));
    expect(checkFeatureFile(f64file)).toMatchObject({ ok: true, rows: 1, width: 2 });
  });
});
