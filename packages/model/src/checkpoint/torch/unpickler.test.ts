import { CheckpointError } from 'shared';
import { describe, expect, it } from 'vitest';
import type { Py } from './testing.js';
import { pickle } from './testing.js';
import type { NumpyArray, PickledObject } from './types.js';
import { unpickle } from './unpickler.js';

const options = { source: 'test.pkl' };

// pickle.dumps(OBJ, protocol=p) from CPython 3.11, where OBJ is
// {'a': [1, 2.5, None, True, False], 'b': (b'xy', 'é€', 2**70, -3, -(2**40)), 3: {1, 2},
//  'c': frozenset([7]), 'd': OrderedDict([('z', 1), ('y', 2)]), 'e': bytearray(b'\x00\xff'),
//  'f': 65535, 'g': 255, 'h': -1}
const PYTHON_PICKLES: Record<number, string> = {
  2: '80027d71002858010000006171015d7102284b014740040000000000004e888965580100000062710328635f636f646563730a656e636f64650a710458020000007879710558060000006c6174696e3171068671075271085805000000c3a9e282ac71098a090000000000000000404afdffffff8a060000000000ff74710a4b03635f5f6275696c74696e5f5f0a7365740a710b5d710c284b014b026585710d52710e580100000063710f635f5f6275696c74696e5f5f0a66726f7a656e7365740a71105d71114b0761857112527113580100000064711463636f6c6c656374696f6e730a4f726465726564446963740a7115295271162858010000007a71174b0158010000007971184b02755801000000657119635f5f6275696c74696e5f5f0a6279746561727261790a711a6804580300000000c3bf711b680686711c52711d85711e52711f58010000006671204dffff58010000006771214bff58010000006871224affffffff752e',
  4: '800495c9000000000000007d94288c0161945d94284b014740040000000000004e8889658c0162942843027879948c05c3a9e282ac948a090000000000000000404afdffffff8a060000000000ff74944b038f94284b014b02908c016394284b0791948c0164948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c017a944b018c0179944b02758c0165948c086275696c74696e73948c09627974656172726179949394430200ff94859452948c0166944dffff8c0167944bff8c0168944affffffff752e',
  5: '800595b3000000000000007d94288c0161945d94284b014740040000000000004e8889658c0162942843027879948c05c3a9e282ac948a090000000000000000404afdffffff8a060000000000ff74944b038f94284b014b02908c016394284b0791948c0164948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c017a944b018c0179944b02758c01659496020000000000000000ff948c0166944dffff8c0167944bff8c0168944affffffff752e',
};

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

describe('unpickle', () => {
  for (const protocol of [2, 4, 5]) {
    it(`reads CPython's protocol-${protocol} pickle of every container and scalar kind`, () => {
      const root = unpickle(hex(PYTHON_PICKLES[protocol]!), options) as Map<unknown, unknown>;
      expect([...root.keys()]).toEqual(['a', 'b', 3, 'c', 'd', 'e', 'f', 'g', 'h']);
      expect(root.get('a')).toEqual([1, 2.5, null, true, false]);
      const b = root.get('b') as unknown[];
      expect(b[0]).toEqual(new Uint8Array([0x78, 0x79]));
      expect(b[1]).toBe('é€');
      expect(b[2]).toBe(2n ** 70n);
      expect(b[3]).toBe(-3);
      expect(b[4]).toBe(-(2 ** 40));
      expect(root.get(3)).toEqual(new Set([1, 2]));
      expect(root.get('c')).toEqual(new Set([7]));
      expect(root.get('d')).toEqual(
        new Map([
          ['z', 1],
          ['y', 2],
        ]),
      );
      expect(root.get('e')).toEqual(new Uint8Array([0, 255]));
      expect([root.get('f'), root.get('g'), root.get('h')]).toEqual([65535, 255, -1]);
    });
  }

  it('turns calls to unknown globals into inert records, running nothing', () => {
    // os.system('touch /tmp/pwned') followed by BUILD on an unknown class.
    const bytes = pickle([
      { reduce: [{ global: ['os', 'system'] }, ['touch /tmp/pwned']] },
      { build: [{ reduce: [{ global: ['__main__', 'Recorder'] }, []] }, { dict: [['epochs', 3]] }] },
    ]);
    const [call, built] = unpickle(bytes, options) as [PickledObject, PickledObject];
    expect(call).toEqual({ kind: 'object', className: 'os.system', args: ['touch /tmp/pwned'], state: undefined });
    expect(built.className).toBe('__main__.Recorder');
    expect(built.state).toEqual(new Map([['epochs', 3]]));
  });

  it('rebuilds numpy scalars and arrays (big-endian and Fortran order included)', () => {
    const dtype = (code: string, order: string): Py => ({
      build: [{ reduce: [{ global: ['numpy', 'dtype'] }, [code, false, true]] }, [3, order, null, null, null, -1, -1, 0]],
    });
    const scalar = (code: string, order: string, bytes: number[]): Py => ({
      reduce: [{ global: ['numpy.core.multiarray', 'scalar'] }, [dtype(code, order), { bytes: new Uint8Array(bytes) }]],
    });
    const array = (shape: number[], code: string, order: string, fortran: boolean, bytes: number[]): Py => ({
      build: [
        {
          reduce: [
            { global: ['numpy._core.multiarray', '_reconstruct'] },
            [{ global: ['numpy', 'ndarray'] }, [0], { bytes: new Uint8Array([0x62]) }],
          ],
        },
        [1, shape, dtype(code, order), fortran, { bytes: new Uint8Array(bytes) }],
      ],
    });
    const half = Array.from(new Uint8Array(new Float64Array([0.5]).buffer));
    const [f8, i8, b1, big, fortran] = unpickle(
      pickle([
        scalar('f8', '<', half),
        scalar('i8', '<', [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        scalar('b1', '|', [1]),
        array([2], 'i4', '>', false, [0, 0, 0, 7, 0xff, 0xff, 0xff, 0xfe]),
        array([2, 3], 'u1', '|', true, [0, 3, 1, 4, 2, 5]),
      ]),
      options,
    ) as [number, number, boolean, NumpyArray, NumpyArray];
    expect([f8, i8, b1]).toEqual([0.5, -2, true]);
    expect([big.shape, big.dtype, Array.from(big.data as Int32Array)]).toEqual([[2], '>i4', [7, -2]]);
    expect([fortran.shape, Array.from(fortran.data as Uint8Array)]).toEqual([
      [2, 3],
      [0, 1, 2, 3, 4, 5],
    ]);
  });

  it('names an unknown opcode, its offset and the file', () => {
    const bytes = new Uint8Array([0x80, 0x02, 0x4b, 0x01, 0xff, 0x2e]);
    expect(() => unpickle(bytes, options)).toThrow(CheckpointError);
    expect(() => unpickle(bytes, options)).toThrowError('test.pkl: unknown pickle opcode 0xff at offset 4');
  });

  it('refuses opcodes it deliberately does not implement, by name', () => {
    // INT (protocol 0 text integer), EXT1 (extension registry), NEXT_BUFFER (out-of-band data).
    for (const [bytes, name] of [
      [[0x80, 0x02, 0x49, 0x31, 0x0a, 0x2e], 'INT'],
      [[0x80, 0x02, 0x82, 0x01, 0x2e], 'EXT1'],
      [[0x80, 0x05, 0x97, 0x2e], 'NEXT_BUFFER'],
    ] as const) {
      expect(() => unpickle(new Uint8Array(bytes), options)).toThrowError(
        new RegExp(`unsupported pickle opcode 0x[0-9a-f]{2}.*\\(${name}\\) at offset 2`),
      );
    }
  });

  it('raises CheckpointError for every truncation of a pickle, never another error', () => {
    const full = hex(PYTHON_PICKLES[2]!);
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => unpickle(full.subarray(0, cut), options), `cut at ${cut}`).toThrow(CheckpointError);
    }
  });

  it('raises CheckpointError for malformed streams', () => {
    const cases: number[][] = [
      [0x80, 0x02, 0x2e], // STOP on an empty stack
      [0x80, 0x02, 0x74, 0x2e], // TUPLE without MARK
      [0x80, 0x02, 0x68, 0x05, 0x2e], // BINGET of a never-stored memo slot
      [0x80, 0x02, 0x4b, 0x01, 0x4b, 0x02, 0x73, 0x2e], // SETITEM on an int
      [0x80, 0x02, 0x4b, 0x01, 0x29, 0x52, 0x2e], // REDUCE on an int
      [0x80, 0x09, 0x4e, 0x2e], // protocol 9
    ];
    for (const bytes of cases) expect(() => unpickle(new Uint8Array(bytes), options)).toThrow(CheckpointError);
  });
});
