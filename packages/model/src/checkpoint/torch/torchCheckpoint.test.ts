import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from 'shared';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Py } from './testing.js';
import { bytesOf, buildTorchZip, buildZip, contiguousStride, fixturesDir, readZipEntries, torchTensor } from './testing.js';
import { openTorchCheckpoint } from './torchCheckpoint.js';
import type { NumpyArray, PickledObject, TensorRef } from './types.js';

const fixtures = fixturesDir();
const PTHNET_PTH = path.join(fixtures, 'pthnet/tiny/checkpoint_init.pth');
const VIDEOMAE_PTH = path.join(fixtures, 'videomae/tiny/checkpoint.pth');
const pthnetExpected = JSON.parse(readFileSync(path.join(fixtures, 'pthnet/tiny/expected.json'), 'utf8')) as {
  param_count: number;
  state_dict_after_steps: Record<string, { shape: number[]; data: number[] }>;
  grads_step0: Record<string, unknown>;
};
const videomaeExpected = JSON.parse(readFileSync(path.join(fixtures, 'videomae/tiny/expected.json'), 'utf8')) as {
  param_count: number;
  state_dict_keys: Record<string, number[]>;
};

const tmp = mkdtempSync(path.join(tmpdir(), 'torch-ckpt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileCount = 0;
function writeTemp(bytes: Uint8Array, name = `ckpt${fileCount++}.pth`): string {
  const file = path.join(tmp, name);
  writeFileSync(file, bytes);
  return file;
}

describe('openTorchCheckpoint on the reference trainer checkpoint', () => {
  it('reads epoch, the module.-prefixed cuda:0 state dict, optimizer and the unknown recorder class', async () => {
    const checkpoint = await openTorchCheckpoint(PTHNET_PTH);
    try {
      const root = checkpoint.root as Map<string, unknown>;
      expect([...root.keys()]).toEqual(['epoch', 'state_dict', 'best_acc', 'optimizer', 'recorder']);
      expect(root.get('epoch')).toBe(1);
      const raw = root.get('state_dict') as Map<string, TensorRef>;
      expect([...raw.keys()].every((k) => k.startsWith('module.'))).toBe(true);
      expect([...raw.values()].every((ref) => ref.storage.location === 'cuda:0')).toBe(true);

      const bestAcc = root.get('best_acc') as TensorRef;
      expect(bestAcc.name).toBe('best_acc');
      const best = await checkpoint.readTensor(bestAcc);
      expect(best.shape).toEqual([1]);
      expect(best.data[0]).toBe(41.25);

      const optimizer = root.get('optimizer') as Map<string, unknown>;
      const group = (optimizer.get('param_groups') as Map<string, unknown>[])[0]!;
      expect([group.get('lr'), group.get('momentum'), group.get('weight_decay'), group.get('nesterov')]).toEqual([
        0.005,
        0.9,
        0.0001,
        false,
      ]);
      expect(group.get('params')).toEqual(Array.from({ length: 204 }, (_, i) => i));
      const state = optimizer.get('state') as Map<number, Map<string, TensorRef>>;
      expect(state.size).toBe(184);
      expect(state.get(0)!.get('momentum_buffer')!.name).toBe('optimizer.state.0.momentum_buffer');

      const recorder = root.get('recorder') as PickledObject;
      expect(recorder.kind).toBe('object');
      expect(recorder.className).toBe('__main__.RecorderMeter');
      const attributes = recorder.state as Map<string, unknown>;
      expect(attributes.get('total_epoch')).toBe(20);
      const accuracy = attributes.get('epoch_accuracy') as NumpyArray;
      expect(accuracy.shape).toEqual([20, 2]);
      expect(accuracy.dtype).toBe('<f4');
      expect(Array.from(accuracy.data as Float32Array).slice(0, 4)).toEqual([12.5, 10, 0, 0]);
    } finally {
      await checkpoint.close();
    }
  });

  it('gives the reference keys and shapes, finite values, 38,279 parameters, and exact unused parameters', async () => {
    const checkpoint = await openTorchCheckpoint(PTHNET_PTH);
    try {
      const stateDict = checkpoint.findStateDict();
      const expected = pthnetExpected.state_dict_after_steps;
      expect([...stateDict.keys()]).toEqual(Object.keys(expected));
      let count = 0;
      let unusedChecked = 0;
      for (const [key, ref] of stateDict) {
        expect(ref.name).toBe(key);
        expect(ref.shape, key).toEqual(expected[key]!.shape);
        const tensor = await checkpoint.readTensor(ref);
        expect(tensor.dtype).toBe('float32');
        expect(tensor.data).toBeInstanceOf(Float32Array);
        expect((tensor.data as Float32Array).every(Number.isFinite), key).toBe(true);
        count += tensor.data.length;
        // Parameters that get no gradient (pos_embed*) never move, so the values after three
        // SGD steps are the values in the initial checkpoint, bit for bit.
        if (!(key in pthnetExpected.grads_step0)) {
          expect(Array.from(tensor.data as Float32Array), key).toEqual(expected[key]!.data.map(Math.fround));
          unusedChecked++;
        }
      }
      expect(count).toBe(pthnetExpected.param_count);
      expect(unusedChecked).toBe(20);
    } finally {
      await checkpoint.close();
    }
  });
});

describe('openTorchCheckpoint on the VideoMAE checkpoint', () => {
  it('finds the state dict under module with head.*, reference keys, shapes and 75,514 values', async () => {
    const checkpoint = await openTorchCheckpoint(VIDEOMAE_PTH);
    try {
      expect([...(checkpoint.root as Map<string, unknown>).keys()]).toEqual(['module']);
      const stateDict = checkpoint.findStateDict();
      expect([...stateDict].map(([k, ref]) => [k, ref.shape])).toEqual(Object.entries(videomaeExpected.state_dict_keys));
      expect(stateDict.has('head.weight')).toBe(true);
      const all = await checkpoint.readStateDict();
      let count = 0;
      for (const tensor of all.values()) {
        expect((tensor.data as Float32Array).every(Number.isFinite)).toBe(true);
        count += tensor.data.length;
      }
      expect(count).toBe(videomaeExpected.param_count);
    } finally {
      await checkpoint.close();
    }
  });
});

describe('a checkpoint written by torch 1.13', () => {
  it('reads views, dtypes, a module state dict, SGD state, a numpy array and an unknown class', async () => {
    const checkpoint = await openTorchCheckpoint(fileURLToPath(new URL('./testdata/torch113_mixed.pth', import.meta.url)));
    try {
      const root = checkpoint.root as Map<string, unknown>;
      const values = async (value: unknown): Promise<unknown[]> => {
        const tensor = await checkpoint.readTensor(value as TensorRef);
        return [tensor.shape, Array.from(tensor.data as ArrayLike<unknown>)];
      };
      expect(await values(root.get('transposed'))).toEqual([[6, 4], Array.from({ length: 24 }, (_, i) => (i % 4) * 6 + Math.floor(i / 4))]);
      expect(await values(root.get('strided'))).toEqual([
        [2, 3],
        [6, 8, 10, 12, 14, 16],
      ]);
      expect(await values(root.get('expanded'))).toEqual([
        [2, 3],
        [1.5, 1.5, 1.5, 2.5, 2.5, 2.5],
      ]);
      expect(await values(root.get('half'))).toEqual([[4], [1, -2, 65504, -0]]);
      expect(await values(root.get('bf16'))).toEqual([[2], [1, -3.140625]]);
      expect(await values(root.get('f64'))).toEqual([[2], [0.25, -Infinity]]);
      expect(await values(root.get('i64'))).toEqual([[2], [-(2n ** 62n), 5n]]);
      expect(await values(root.get('bool'))).toEqual([[3], [1, 0, 1]]);
      expect(await values(root.get('scalar'))).toEqual([[], [3.25]]);
      // One SGD step (lr 0.1, gradient 1 everywhere) from the weights set in the script.
      const stepped = (v: number[]): number[] => v.map((x) => Math.fround(Math.fround(x) - Math.fround(0.1)));
      const model = checkpoint.findStateDict(['model']);
      expect(await values(model.get('weight'))).toEqual([[2, 3], stepped([0.5, -1, 2, 0.25, 0, -0.75])]);
      expect(await values(model.get('bias'))).toEqual([[2], stepped([0.1, -0.2])]);
      const state = (root.get('optimizer') as Map<string, unknown>).get('state') as Map<number, Map<string, unknown>>;
      expect(await values(state.get(0)!.get('momentum_buffer'))).toEqual([
        [2, 3],
        [1, 1, 1, 1, 1, 1],
      ]);
      const array = root.get('np') as NumpyArray;
      // A transposed (Fortran-order) float64 array comes back in C order.
      expect([array.shape, array.dtype, Array.from(array.data as Float64Array)]).toEqual([[3, 2], '<f8', [0, 3, 1, 4, 2, 5]]);
      const args = root.get('args') as PickledObject;
      expect([args.className, args.state]).toEqual(['argparse.Namespace', new Map([['lr', 0.1]])]);
    } finally {
      await checkpoint.close();
    }
  });
});

describe('tensor decoding', () => {
  const f32 = new Float32Array(Array.from({ length: 12 }, (_, i) => i));
  const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00]);
  const bf16 = new Uint16Array([0x3f80, 0xc049, 0x0001]);
  const f64 = new Float64Array([1 / 3, -1e300, 0.1]);
  const i64 = new BigInt64Array([-(2n ** 62n), 5n, 2n ** 40n]);
  const i32 = new Int32Array([-7, 2 ** 31 - 1]);
  const i16 = new Int16Array([-32768, 12]);
  const i8 = new Int8Array([-128, 127]);
  const u8 = new Uint8Array([0, 255]);
  const bool = new Uint8Array([1, 0, 1]);
  const storage = (type: string, key: string, numel: number): { type: string; key: string; numel: number } => ({ type, key, numel });
  const root: Py = {
    dict: [
      ['contig', torchTensor(storage('FloatStorage', 'f', 12), 0, [3, 4], [4, 1])],
      ['transposed', torchTensor(storage('FloatStorage', 'f', 12), 0, [4, 3], [1, 4])],
      ['sliced', torchTensor(storage('FloatStorage', 'f', 12), 5, [3], [2])],
      ['expanded', torchTensor(storage('FloatStorage', 'f', 12), 2, [2, 3], [0, 1])],
      ['scalar', torchTensor(storage('FloatStorage', 'f', 12), 7, [], [])],
      ['empty', torchTensor(storage('FloatStorage', 'f', 12), 0, [0, 3], [3, 1])],
      ['half', torchTensor(storage('HalfStorage', 'h', 7), 0, [7], [1])],
      ['bf16', torchTensor(storage('BFloat16Storage', 'b', 3), 0, [3], [1])],
      ['f64', torchTensor(storage('DoubleStorage', 'd', 3), 0, [3], [1])],
      ['i64', torchTensor(storage('LongStorage', 'l', 3), 0, [3], [1])],
      ['i32', torchTensor(storage('IntStorage', 'i', 2), 0, [2], [1])],
      ['i16', torchTensor(storage('ShortStorage', 's', 2), 0, [2], [1])],
      ['i8', torchTensor(storage('CharStorage', 'c', 2), 0, [2], [1])],
      ['u8', torchTensor(storage('ByteStorage', 'u', 2), 0, [2], [1])],
      ['bool', torchTensor(storage('BoolStorage', 'o', 3), 0, [3], [1])],
      [
        'param',
        {
          reduce: [
            { global: ['torch._utils', '_rebuild_parameter'] },
            [
              torchTensor(storage('FloatStorage', 'f', 12), 0, [12], [1]),
              true,
              { reduce: [{ global: ['collections', 'OrderedDict'] }, []] },
            ],
          ],
        },
      ],
    ],
  };
  const storages = {
    f: bytesOf(f32),
    h: bytesOf(half),
    b: bytesOf(bf16),
    d: bytesOf(f64),
    l: bytesOf(i64),
    i: bytesOf(i32),
    s: bytesOf(i16),
    c: bytesOf(i8),
    u: u8,
    o: bool,
  };

  async function readAll(file: string): Promise<Map<string, { shape: number[]; values: unknown[] }>> {
    const checkpoint = await openTorchCheckpoint(file);
    try {
      const out = new Map<string, { shape: number[]; values: unknown[] }>();
      for (const [name, ref] of checkpoint.findStateDict()) {
        const { shape, data } = await checkpoint.readTensor(ref);
        out.set(name, { shape, values: Array.from(data as ArrayLike<unknown>) });
      }
      return out;
    } finally {
      await checkpoint.close();
    }
  }

  function expectDecoded(tensors: Map<string, { shape: number[]; values: unknown[] }>): void {
    expect(tensors.get('contig')).toEqual({ shape: [3, 4], values: Array.from(f32) });
    expect(tensors.get('transposed')).toEqual({ shape: [4, 3], values: [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11] });
    expect(tensors.get('sliced')).toEqual({ shape: [3], values: [5, 7, 9] });
    expect(tensors.get('expanded')).toEqual({ shape: [2, 3], values: [2, 3, 4, 2, 3, 4] });
    expect(tensors.get('scalar')).toEqual({ shape: [], values: [7] });
    expect(tensors.get('empty')).toEqual({ shape: [0, 3], values: [] });
    expect(tensors.get('half')!.values).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity, NaN]);
    expect(Object.is(tensors.get('half')!.values[4], -0)).toBe(true);
    expect(tensors.get('bf16')!.values).toEqual([1, -3.140625, 2 ** -133]);
    expect(tensors.get('f64')!.values).toEqual([Math.fround(1 / 3), -Infinity, Math.fround(0.1)]);
    expect(tensors.get('i64')!.values).toEqual([-(2n ** 62n), 5n, 2n ** 40n]);
    expect(tensors.get('i32')!.values).toEqual([-7, 2 ** 31 - 1]);
    expect(tensors.get('i16')!.values).toEqual([-32768, 12]);
    expect(tensors.get('i8')!.values).toEqual([-128, 127]);
    expect(tensors.get('u8')!.values).toEqual([0, 255]);
    expect(tensors.get('bool')!.values).toEqual([1, 0, 1]);
    expect(tensors.get('param')).toEqual({ shape: [12], values: Array.from(f32) });
  }

  it('reads every dtype, views with strides and offsets, scalars and empty tensors', async () => {
    expectDecoded(await readAll(writeTemp(buildTorchZip('archive', root, storages))));
  });

  it('reads big-endian storages (byteorder entry) and deflated storages', async () => {
    const swapped = Object.fromEntries(
      Object.entries(storages).map(([key, bytes]) => {
        const size = { f: 4, h: 2, b: 2, d: 8, l: 8, i: 4, s: 2 }[key] ?? 1;
        const out = new Uint8Array(bytes.length);
        for (let i = 0; i < bytes.length; i++) out[i] = bytes[i - (i % size) + (size - 1 - (i % size))]!;
        return [key, out];
      }),
    );
    expectDecoded(await readAll(writeTemp(buildTorchZip('archive', root, swapped, { byteorder: 'big' }))));
    expectDecoded(await readAll(writeTemp(buildTorchZip('archive', root, storages, { deflate: ['f', 'l', 'h'] }))));
  });

  it('reads zip64 archives (sizes and offsets in zip64 extra fields)', async () => {
    expectDecoded(await readAll(writeTemp(buildTorchZip('archive', root, storages, { zip64: true }))));
  });

  it('reads one tensor by reading just its bytes', async () => {
    const bigRoot: Py = {
      dict: [
        ['small', torchTensor(storage('FloatStorage', 'small', 2), 0, [2], [1])],
        ['big', torchTensor(storage('FloatStorage', 'big', 1 << 20), 0, [1 << 20], [1])],
      ],
    };
    const file = writeTemp(buildTorchZip('a', bigRoot, { small: bytesOf(new Float32Array([3, 4])), big: new Uint8Array(4 << 20) }));
    const checkpoint = await openTorchCheckpoint(file);
    const probe = await open(file, 'r');
    const fileHandlePrototype = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const read = vi.spyOn(fileHandlePrototype, 'read');
    try {
      const small = await checkpoint.readTensor(checkpoint.findStateDict().get('small')!);
      expect(Array.from(small.data as Float32Array)).toEqual([3, 4]);
      const requested = read.mock.calls.reduce((sum, args) => sum + (args[2] as number), 0);
      expect(requested).toBe(8);
    } finally {
      read.mockRestore();
      await checkpoint.close();
    }
  });

  it('charges the budget once per view: the same tensor read again (streamed weights) passes, a new view past it fails', async () => {
    const root: Py = {
      dict: [
        ['a', torchTensor(storage('FloatStorage', 'f', 12), 0, [2, 4], [4, 1])],
        ['b', torchTensor(storage('FloatStorage', 'f', 12), 4, [2, 4], [4, 1])],
      ],
    };
    // 32 bytes per view: room for one of them, not two
    const checkpoint = await openTorchCheckpoint(writeTemp(buildTorchZip('a', root, { f: bytesOf(f32) })), { budgetBytes: 48 });
    try {
      const refs = checkpoint.findStateDict();
      for (let pass = 0; pass < 5; pass++) {
        expect(Array.from((await checkpoint.readTensor(refs.get('a')!)).data as Float32Array)).toEqual(Array.from(f32.subarray(0, 8)));
      }
      await expect(checkpoint.readTensor(refs.get('b')!)).rejects.toThrowError(/tensor b .* more than its budget of 48/);
    } finally {
      await checkpoint.close();
    }
  });

  it('refuses a view that reaches past its storage, and a storage shorter than declared', async () => {
    const overRoot: Py = {
      dict: [
        ['w', torchTensor(storage('FloatStorage', 'f', 12), 4, [3, 4], [4, 1])],
        ['ok', torchTensor(storage('FloatStorage', 'f', 12), 0, [2], [1])],
      ],
    };
    const checkpoint = await openTorchCheckpoint(writeTemp(buildTorchZip('a', overRoot, { f: bytesOf(f32) })));
    try {
      await expect(checkpoint.readTensor(checkpoint.findStateDict().get('w')!)).rejects.toThrowError(
        /tensor w .* reaches elements 4\.\.15 of storage f, which has 12/,
      );
    } finally {
      await checkpoint.close();
    }
    await expect(checkpoint.readTensor(checkpoint.findStateDict().get('ok')!)).rejects.toThrowError(/is closed/);
    const shortRoot: Py = { dict: [['w', torchTensor(storage('FloatStorage', 'f', 13), 0, [13], [1])]] };
    await expect(openTorchCheckpoint(writeTemp(buildTorchZip('a', shortRoot, { f: bytesOf(f32) })))).rejects.toThrowError(
      /storage f holds 48 bytes, expected 52/,
    );
  });
});

describe('findStateDict', () => {
  const tensor = (key: string): Py => torchTensor({ type: 'FloatStorage', key, numel: 1 }, 0, [1], [1]);
  const one = bytesOf(new Float32Array([1]));

  async function keysOf(root: Py, storages: Record<string, Uint8Array>, candidates?: string[]): Promise<string[]> {
    const checkpoint = await openTorchCheckpoint(writeTemp(buildTorchZip('a', root, storages)));
    try {
      return [...checkpoint.findStateDict(candidates).keys()];
    } finally {
      await checkpoint.close();
    }
  }

  it('falls back to a bare root state dict and strips module.', async () => {
    expect(
      await keysOf(
        {
          dict: [
            ['module.x', tensor('0')],
            ['module.y', tensor('0')],
          ],
        },
        { 0: one },
      ),
    ).toEqual(['x', 'y']);
  });

  it('takes the first candidate key holding a tensor dict', async () => {
    const root: Py = {
      dict: [
        ['args', { dict: [['lr', 1]] }],
        ['model', { dict: [['w', tensor('0')]] }],
        ['epoch', 3],
      ],
    };
    expect(await keysOf(root, { 0: one })).toEqual(['w']);
    expect(await keysOf({ dict: [['ema', { dict: [['v', tensor('0')]] }]] }, { 0: one }, ['ema'])).toEqual(['v']);
  });

  it('names the root keys when there is no state dict, and refuses colliding prefixed keys', async () => {
    await expect(
      keysOf(
        {
          dict: [
            ['epoch', 3],
            ['weights', [1, 2]],
          ],
        },
        {},
      ),
    ).rejects.toThrowError(/no state dict found.*the root holds epoch, weights/);
    await expect(
      keysOf(
        {
          dict: [
            ['x', tensor('0')],
            ['module.x', tensor('0')],
          ],
        },
        { 0: one },
      ),
    ).rejects.toThrowError(/both x and module\.x/);
  });
});

describe('damaged and foreign files', () => {
  it('raises CheckpointError for the fixture cut at any of several points', async () => {
    const bytes = readFileSync(PTHNET_PTH);
    const size = statSync(PTHNET_PTH).size;
    for (const cut of [0, 3, 100, 30_000, 42_200, Math.floor(size / 2), size - 100, size - 23, size - 1]) {
      const file = writeTemp(bytes.subarray(0, cut));
      await expect(openTorchCheckpoint(file), `cut at ${cut}`).rejects.toBeInstanceOf(CheckpointError);
    }
  });

  it('names an unexpected opcode in data.pkl with its offset and the file', async () => {
    const entries = await readZipEntries(PTHNET_PTH);
    const pickleEntry = entries.find((e) => e.name.endsWith('/data.pkl'))!;
    // 0xff right after PROTO 2: not an opcode in any protocol.
    pickleEntry.data = new Uint8Array([...pickleEntry.data.subarray(0, 2), 0xff, ...pickleEntry.data.subarray(2)]);
    const file = writeTemp(buildZip(entries), 'bad_opcode.pth');
    await expect(openTorchCheckpoint(file)).rejects.toBeInstanceOf(CheckpointError);
    await expect(openTorchCheckpoint(file)).rejects.toThrowError(
      'bad_opcode.pth:checkpoint_init/data.pkl: unknown pickle opcode 0xff at offset 2',
    );
  });

  it('names a pickle truncated inside the archive', async () => {
    const entries = await readZipEntries(PTHNET_PTH);
    const pickleEntry = entries.find((e) => e.name.endsWith('/data.pkl'))!;
    pickleEntry.data = pickleEntry.data.subarray(0, 5000);
    await expect(openTorchCheckpoint(writeTemp(buildZip(entries)))).rejects.toThrowError(/pickle is truncated/);
  });

  it('explains legacy, empty, non-torch zips and missing files', async () => {
    await expect(openTorchCheckpoint(writeTemp(new Uint8Array([0x80, 0x02, 0x8a, 0x0a])))).rejects.toThrowError(
      /legacy \(pre-1\.6, non-zip\)/,
    );
    await expect(openTorchCheckpoint(writeTemp(new Uint8Array(0)))).rejects.toThrowError(/is empty/);
    await expect(openTorchCheckpoint(writeTemp(buildZip([{ name: 'readme.txt', data: new Uint8Array([65]) }])))).rejects.toThrowError(
      /expected one <archive>\/data\.pkl, found no <archive>\/data\.pkl/,
    );
    await expect(openTorchCheckpoint(path.join(tmp, 'missing.pth'))).rejects.toThrowError(/cannot open checkpoint/);
  });

  it('reads _rebuild_tensor_v3 tensors over untyped storages, and names dtypes it cannot decode', async () => {
    const v3 = (dtype: string): Py => ({
      reduce: [
        { global: ['torch._utils', '_rebuild_tensor_v3'] },
        [
          { persid: ['storage', { global: ['torch', 'UntypedStorage'] }, '0', 'cpu', 8] },
          1,
          [1],
          [1],
          false,
          { reduce: [{ global: ['collections', 'OrderedDict'] }, []] },
          { global: ['torch', dtype] },
        ],
      ],
    });
    const storages = { 0: bytesOf(new Float32Array([1.5, -2.5])) };
    const checkpoint = await openTorchCheckpoint(writeTemp(buildTorchZip('a', { dict: [['w', v3('float32')]] }, storages)));
    try {
      const tensor = await checkpoint.readTensor(checkpoint.findStateDict().get('w')!);
      expect([tensor.dtype, Array.from(tensor.data as Float32Array)]).toEqual(['float32', [-2.5]]);
    } finally {
      await checkpoint.close();
    }
    await expect(openTorchCheckpoint(writeTemp(buildTorchZip('a', { dict: [['w', v3('uint16')]] }, storages)))).rejects.toThrowError(
      /_rebuild_tensor_v3: unsupported dtype the global torch\.uint16/,
    );
  });

  it('refuses storages of a type it cannot decode', async () => {
    const root: Py = { dict: [['z', torchTensor({ type: 'ComplexFloatStorage', key: '0', numel: 1 }, 0, [1], [1])]] };
    await expect(openTorchCheckpoint(writeTemp(buildTorchZip('a', root, { 0: new Uint8Array(8) })))).rejects.toThrowError(
      /unsupported storage type torch\.ComplexFloatStorage/,
    );
  });
});

it('contiguousStride helper matches torch', () => {
  expect(contiguousStride([2, 3, 4])).toEqual([12, 4, 1]);
});
