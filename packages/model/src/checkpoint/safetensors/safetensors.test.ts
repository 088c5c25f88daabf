import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError } from 'shared';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors, readSafetensors, safetensorsToFloat32, writeSafetensors } from './safetensors.js';
import type { SafetensorsTensor } from './types.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'safetensors-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Deterministic random bytes (xorshift32), so every run tests the same patterns. */
function randomBytes(length: number, seed: number): Uint8Array {
  let state = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

function floatsFromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips every dtype bit for bit, NaN payloads, -0, denormals and infinities included', async () => {
    const special = floatsFromBits([0x7fc00001, 0xffc12345, 0x7f800001, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000]);
    const randomF32 = new Float32Array(randomBytes(4 * 97, 1).buffer);
    const f32 = new Float32Array([...special, ...randomF32].length);
    f32.set(special);
    f32.set(randomF32, special.length);
    const f64 = new Float64Array(randomBytes(8 * 13, 2).buffer);
    new DataView(f64.buffer).setBigUint64(0, 0x7ff0000000000abcn, true);
    const tensors: SafetensorsTensor[] = [
      { name: 'weights.f32', dtype: 'F32', shape: [f32.length / 5, 5], data: f32 },
      { name: 'weights.f64', dtype: 'F64', shape: [13], data: f64 },
      { name: 'h', dtype: 'F16', shape: [2, 3], data: new Uint16Array([0x7e01, 0xfc00, 0x8000, 0x0001, 0x3c00, 0x7bff]) },
      { name: 'bf', dtype: 'BF16', shape: [3], data: new Uint16Array([0x7fc1, 0x8000, 0x0001]) },
      { name: 'i64', dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]) },
      { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      { name: 'i32', dtype: 'I32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
      { name: 'u32', dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
      { name: 'i16', dtype: 'I16', shape: [3], data: new Int16Array([-1, 0, 1]) },
      { name: 'u16', dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      { name: 'i8', dtype: 'I8', shape: [5], data: new Int8Array(randomBytes(5, 3).buffer) },
      { name: 'u8', dtype: 'U8', shape: [1, 1, 3], data: new Uint8Array([0, 128, 255]) },
      { name: 'mask', dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([-0]) },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    ];
    const file = path.join(tmp, 'all.safetensors');
    await writeSafetensors(file, tensors, { note: 'round trip', epoch: '3' });
    const { tensors: back, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ note: 'round trip', epoch: '3' });
    expect([...back.keys()]).toEqual(tensors.map((t) => t.name).sort());
    for (const original of tensors) {
      const read = back.get(original.name)!;
      expect(read.dtype).toBe(original.dtype);
      expect(read.shape).toEqual(original.shape);
      expect(read.data.constructor).toBe(original.data.constructor);
      expect(bytes(read.data), original.name).toEqual(bytes(original.data));
    }
    expect(Object.is((back.get('scalar')!.data as Float32Array)[0], -0)).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the standard layout: u64 length, space-padded JSON sorted by name, contiguous data', async () => {
    const file = path.join(tmp, 'layout.safetensors');
    await writeSafetensors(
      file,
      [
        { name: 'b', dtype: 'F32', shape: [2], data: new Float32Array([1, -0]) },
        { name: '10', dtype: 'U8', shape: [1], data: new Uint8Array([7]) },
        { name: '2', dtype: 'I16', shape: [1], data: new Int16Array([-2]) },
      ],
      { format: 'pt' },
    );
    const expectedJson =
      '{"__metadata__":{"format":"pt"},"10":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"2":{"dtype":"I16","shape":[1],"data_offsets":[1,3]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}}';
    const padded = Math.ceil(expectedJson.length / 8) * 8;
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(BigInt(padded));
    const expected = Buffer.concat([
      header,
      Buffer.from(expectedJson.padEnd(padded, ' ')),
      Buffer.from([7]),
      Buffer.from([0xfe, 0xff]),
      Buffer.from(new Float32Array([1, -0]).buffer),
    ]);
    expect(readFileSync(file)).toEqual(expected);
  });

  it('replaces an existing file and refuses bad input with the tensor named', async () => {
    const file = path.join(tmp, 'replace.safetensors');
    await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
    await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([2]) }]);
    expect(Array.from((await readSafetensors(file)).tensors.get('a')!.data as Float32Array)).toEqual([2]);
    await expect(writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1]) }])).rejects.toThrowError(
      /tensor a: shape \[2\] needs 2 values, got 1/,
    );
    await expect(writeSafetensors(file, [{ name: 'a', dtype: 'F16', shape: [1], data: new Float32Array([1]) }])).rejects.toThrowError(
      /tensor a: dtype F16 expects a Uint16Array, got Float32Array/,
    );
    await expect(
      writeSafetensors(file, [
        { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
        { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      ]),
    ).rejects.toThrowError(/tensor a given twice/);
    expect(Array.from((await readSafetensors(file)).tensors.get('a')!.data as Float32Array)).toEqual([2]);
  });

  it('reads lazily, one tensor at a time', async () => {
    const file = path.join(tmp, 'lazy.safetensors');
    await writeSafetensors(file, [
      { name: 'x', dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) },
      { name: 'y', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x0001]) },
    ]);
    const handle = await openSafetensors(file);
    try {
      expect(handle.entries.get('y')).toEqual({ dtype: 'F16', shape: [2], dataOffsets: [4, 8] });
      expect(Array.from(safetensorsToFloat32(await handle.readTensor('x')))).toEqual([1, -2]);
      expect(Array.from(safetensorsToFloat32(await handle.readTensor('y')))).toEqual([1, 2 ** -24]);
      await expect(handle.readTensor('z')).rejects.toThrowError(/no tensor named z/);
    } finally {
      await handle.close();
    }
  });

  it('raises CheckpointError for truncated, padded and malformed files', async () => {
    const good = path.join(tmp, 'good.safetensors');
    await writeSafetensors(good, [{ name: 'a', dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
    const content = readFileSync(good);
    const headerLength = Number(content.readBigUInt64LE(0));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', new Uint8Array(0), /bad safetensors header: expected at least the 8-byte header length, got a 0-byte file/],
      ['cut in header', content.subarray(0, 20), /bad safetensors header: its length \d+ does not fit/],
      ['cut in data', content.subarray(0, content.length - 3), /describes 16 bytes of tensor data but the file holds 13/],
      ['trailing bytes', Buffer.concat([content, Buffer.from([0])]), /holds 17/],
      [
        'bad json',
        Buffer.concat([content.subarray(0, 8), Buffer.from('{"a":'.padEnd(headerLength, ' ')), content.subarray(8 + headerLength)]),
        /bad safetensors header: expected JSON/,
      ],
    ];
    const badOffsets = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}';
    const shifted = Buffer.alloc(8);
    shifted.writeBigUInt64LE(BigInt(badOffsets.length));
    cases.push(['gap', Buffer.concat([shifted, Buffer.from(badOffsets), Buffer.alloc(20)]), /starts at byte 4 of the data, expected 0/]);
    const badDtype = '{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}';
    const badDtypeLength = Buffer.alloc(8);
    badDtypeLength.writeBigUInt64LE(BigInt(badDtype.length));
    cases.push([
      'dtype',
      Buffer.concat([badDtypeLength, Buffer.from(badDtype), Buffer.alloc(4)]),
      /entry a: expected dtype to be one of .*, got "F33"/,
    ]);
    for (const [label, data, message] of cases) {
      const file = path.join(tmp, `bad-${label.replace(/ /g, '-')}.safetensors`);
      writeFileSync(file, data);
      await expect(readSafetensors(file), label).rejects.toBeInstanceOf(CheckpointError);
      await expect(readSafetensors(file), label).rejects.toThrowError(message);
      // every one is a header that does not describe the file: one reason code, the file named
      await expect(readSafetensors(file), label).rejects.toMatchObject({ reason: 'bad_safetensors_header', path: file });
    }
  });
});
