import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from 'shared';
import { parseNpyHeader, probeNpyFile } from './npy-header.js';

describe('npy header probing', () => {
  it('reads shape, dtype and data offset of a numpy-layout file without its data', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pthnet-npyhead-'));
    try {
      const file = path.join(dir, 'a.npy');
      const bytes = encodeNpy({ data: new Float32Array(41 * 48), shape: [41, 48] });
      await writeFile(file, bytes);
      expect(await probeNpyFile(file)).toEqual({
        descr: '<f4',
        fortranOrder: false,
        shape: [41, 48],
        dataOffset: bytes.length - 41 * 48 * 4,
        fileSize: bytes.length,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses version 2 headers and Fortran order', () => {
    const dict = "{'descr': '>f8', 'fortran_order': True, 'shape': (3, 2), }\n";
    const bytes = new Uint8Array(12 + dict.length);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0], 0);
    new DataView(bytes.buffer).setUint32(8, dict.length, true);
    bytes.set(new TextEncoder().encode(dict), 12);
    expect(parseNpyHeader(bytes, 'v2.npy')).toEqual({ descr: '>f8', fortranOrder: true, shape: [3, 2], dataOffset: 12 + dict.length });
  });

  it('names the file it cannot read', () => {
    expect(() => parseNpyHeader(new Uint8Array(20), 'f.npy')).toThrow(/f\.npy: expected a \.npy file/);
    const truncated = encodeNpy({ data: new Float32Array(2), shape: [2] }).subarray(0, 40);
    expect(() => parseNpyHeader(truncated, 'g.npy')).toThrow(/g\.npy: expected a \d+-byte \.npy header, got 30 bytes/);
  });
});
