/**
 * The whitelist of Python callables the restricted unpickler imitates. A pickle names a
 * callable with GLOBAL and applies it with REDUCE/NEWOBJ; here each known name maps to a
 * small JS function that builds plain data. Any other name produces an inert `PickledObject`
 * that records the class name and arguments: nothing from the file is ever executed.
 */
import { TORCH_DTYPE_NAMES, TORCH_DTYPE_SIZE } from './constants.js';
import type { ElementArray } from './types.js';
import { gatherStrided, halfBitsToFloat32, product, swapBytesInPlace } from './decode.js';
import type { NumpyArray, NumpyDtype, PickledObject, PickleGlobal, StorageRef, TensorRef } from './types.js';

/** Raises a positioned `CheckpointError`; supplied by the unpickler. */
export interface CallSite {
  fail(message: string): never;
}

type GlobalHandler = (args: readonly unknown[], site: CallSite) => unknown;

/** A TensorRef whose name the reader fills in after unpickling. */
export type MutableTensorRef = { -readonly [K in keyof TensorRef]: TensorRef[K] };

/** Module renames between Python 2/3 and numpy 1/2, so one handler serves both spellings. */
const MODULE_ALIASES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  'numpy._core.multiarray': 'numpy.core.multiarray',
  'numpy._core.numeric': 'numpy.core.numeric',
};

export function qualifiedName(global: PickleGlobal): string {
  return `${MODULE_ALIASES[global.module] ?? global.module}.${global.name}`;
}

export function isTensorRef(value: unknown): value is TensorRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

function isStorageRef(value: unknown): value is StorageRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'storage';
}

export function isPickleGlobal(value: unknown): value is PickleGlobal {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'global';
}

export function isPickledObject(value: unknown): value is PickledObject {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'object';
}

function isNumpyArray(value: unknown): value is NumpyArray {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'ndarray';
}

function isNumpyDtype(value: unknown): value is NumpyDtype {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'numpy-dtype';
}

function intArg(value: unknown, what: string, site: CallSite): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return site.fail(`expected ${what} to be an integer, got ${describe(value)}`);
}

function intListArg(value: unknown, what: string, site: CallSite): number[] {
  if (!Array.isArray(value)) return site.fail(`expected ${what} to be a tuple of integers, got ${describe(value)}`);
  return value.map((v, i) => intArg(v, `${what}[${i}]`, site));
}

export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (Array.isArray(value)) return `a tuple/list of ${value.length}`;
  if (value instanceof Map) return `a dict of ${value.size}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'object') {
    const kind = (value as { kind?: unknown }).kind;
    if (kind === 'global') return `the global ${qualifiedName(value as PickleGlobal)}`;
    if (kind === 'object') return `an instance of ${(value as PickledObject).className}`;
    if (typeof kind === 'string') return `a ${kind}`;
    return 'an object';
  }
  return `${typeof value} ${String(value)}`;
}

function rebuildTensor(args: readonly unknown[], site: CallSite, what: string): MutableTensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!isStorageRef(storage)) return site.fail(`${what}: expected a storage as first argument, got ${describe(storage)}`);
  const shape = intListArg(size, `${what} size`, site);
  const strides = intListArg(stride, `${what} stride`, site);
  if (shape.length !== strides.length) site.fail(`${what}: size has ${shape.length} dims but stride has ${strides.length}`);
  if (shape.some((d) => d < 0)) site.fail(`${what}: negative size ${JSON.stringify(shape)}`);
  return {
    kind: 'tensor',
    name: '',
    dtype: storage.dtype,
    shape,
    stride: strides,
    storageOffset: intArg(offset, `${what} storage offset`, site),
    storage,
    requiresGrad: requiresGrad === true,
  };
}

/**
 * `_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])`:
 * torch >= 2.3 writes it with an untyped (byte) storage for dtypes the legacy typed storages
 * cannot name. The storage is re-viewed as `dtype` elements.
 */
function rebuildTensorV3(args: readonly unknown[], site: CallSite): MutableTensorRef {
  const [storage, offset, size, stride, requiresGrad, , dtype] = args;
  if (!isStorageRef(storage)) return site.fail(`_rebuild_tensor_v3: expected a storage as first argument, got ${describe(storage)}`);
  const target = isPickleGlobal(dtype) && dtype.module === 'torch' ? TORCH_DTYPE_NAMES[dtype.name] : undefined;
  if (target === undefined)
    return site.fail(`_rebuild_tensor_v3: unsupported dtype ${describe(dtype)} (supported: ${Object.keys(TORCH_DTYPE_NAMES).join(', ')})`);
  const bytes = storage.numel * TORCH_DTYPE_SIZE[storage.dtype];
  const viewed: StorageRef = { ...storage, dtype: target, numel: Math.floor(bytes / TORCH_DTYPE_SIZE[target]) };
  return rebuildTensor([viewed, offset, size, stride, requiresGrad], site, '_rebuild_tensor_v3');
}

function withRequiresGrad(data: unknown, requiresGrad: unknown, site: CallSite, what: string): MutableTensorRef {
  if (!isTensorRef(data)) return site.fail(`${what}: expected a tensor, got ${describe(data)}`);
  return { ...data, requiresGrad: requiresGrad === true };
}

function encodeString(text: unknown, encoding: unknown, site: CallSite): Uint8Array {
  if (typeof text !== 'string') return site.fail(`_codecs.encode: expected a str, got ${describe(text)}`);
  const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace('_', '-') : 'utf-8';
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1' || enc === 'ascii') {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0xff) site.fail(`_codecs.encode: character U+${code.toString(16)} does not fit ${enc}`);
      out[i] = code;
    }
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(text);
  return site.fail(`_codecs.encode: unsupported encoding ${JSON.stringify(encoding)}`);
}

/** Typed array class for a numpy type code; undefined for codes kept as raw bytes. */
function numpyArrayFor(code: string): { size: number; make: (buffer: ArrayBuffer, length: number) => ElementArray } | undefined {
  switch (code) {
    case 'f2':
      return { size: 2, make: (b, n) => new Uint16Array(b, 0, n) };
    case 'f4':
      return { size: 4, make: (b, n) => new Float32Array(b, 0, n) };
    case 'f8':
      return { size: 8, make: (b, n) => new Float64Array(b, 0, n) };
    case 'i1':
      return { size: 1, make: (b, n) => new Int8Array(b, 0, n) };
    case 'u1':
    case 'b1':
      return { size: 1, make: (b, n) => new Uint8Array(b, 0, n) };
    case 'i2':
      return { size: 2, make: (b, n) => new Int16Array(b, 0, n) };
    case 'u2':
      return { size: 2, make: (b, n) => new Uint16Array(b, 0, n) };
    case 'i4':
      return { size: 4, make: (b, n) => new Int32Array(b, 0, n) };
    case 'u4':
      return { size: 4, make: (b, n) => new Uint32Array(b, 0, n) };
    case 'i8':
      return { size: 8, make: (b, n) => new BigInt64Array(b, 0, n) };
    case 'u8':
      return { size: 8, make: (b, n) => new BigUint64Array(b, 0, n) };
    default:
      return undefined;
  }
}

/** Decodes `count` elements of a numpy dtype from raw bytes (copying, byte order honoured). */
function decodeNumpyValues(raw: Uint8Array, code: string, byteOrder: string, count: number, site: CallSite): NumpyArray['data'] {
  const kind = numpyArrayFor(code);
  if (!kind) return raw.slice();
  if (raw.length < count * kind.size)
    site.fail(`numpy array data has ${raw.length} bytes, expected ${count * kind.size} for ${count} x ${code}`);
  const copy = new Uint8Array(count * kind.size);
  copy.set(raw.subarray(0, copy.length));
  if (byteOrder === '>') swapBytesInPlace(copy, kind.size);
  const values = kind.make(copy.buffer, count);
  return code === 'f2' ? halfBitsToFloat32(values as Uint16Array) : values;
}

function buildNumpyArray(array: NumpyArray, state: unknown, site: CallSite): void {
  if (!Array.isArray(state)) site.fail(`numpy array BUILD: expected a state tuple, got ${describe(state)}`);
  // (version, shape, dtype, is_fortran, rawdata); pickles from old numpy have no version.
  const [shapeArg, dtype, isFortran, raw] = state.length >= 5 ? state.slice(1) : state;
  const shape = intListArg(shapeArg, 'numpy array shape', site);
  if (!isNumpyDtype(dtype)) site.fail(`numpy array BUILD: expected a numpy dtype, got ${describe(dtype)}`);
  const byteOrder = dtype.byteOrder === '=' ? '<' : dtype.byteOrder;
  array.shape = shape;
  array.dtype = `${byteOrder}${dtype.code}`;
  const count = product(shape);
  if (Array.isArray(raw)) {
    array.data = raw;
    return;
  }
  if (!(raw instanceof Uint8Array)) site.fail(`numpy array BUILD: expected raw bytes, got ${describe(raw)}`);
  const values = decodeNumpyValues(raw, dtype.code, byteOrder, count, site);
  if (isFortran === true && shape.length > 1 && !Array.isArray(values) && values.length === count) {
    const fortranStride: number[] = [];
    let step = 1;
    for (const size of shape) {
      fortranStride.push(step);
      step *= size;
    }
    const ctor = values.constructor as new (n: number) => ElementArray;
    array.data = gatherStrided(values as ElementArray, 0, shape, fortranStride, new ctor(count)) as NumpyArray['data'];
  } else {
    array.data = values;
  }
}

/** `numpy.core.multiarray.scalar(dtype, bytes)`: one numpy scalar (e.g. a `np.float32` metric). */
function numpyScalar(args: readonly unknown[], site: CallSite): unknown {
  const [dtype, raw] = args;
  if (!isNumpyDtype(dtype)) return site.fail(`numpy scalar: expected a numpy dtype, got ${describe(dtype)}`);
  if (!(raw instanceof Uint8Array)) return site.fail(`numpy scalar: expected raw bytes, got ${describe(raw)}`);
  // Types without a typed array (strings, structs) stay raw bytes.
  if (numpyArrayFor(dtype.code) === undefined) return raw.slice();
  const values = decodeNumpyValues(raw, dtype.code, dtype.byteOrder === '=' ? '<' : dtype.byteOrder, 1, site) as ElementArray;
  // biome-ignore lint/style/noNonNullAssertion: decodeNumpyValues returns the count (1) elements asked for, or fails
  const value = values[0]!;
  if (dtype.code === 'b1') return value !== 0;
  if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(value);
  return value;
}

const HANDLERS: Readonly<Record<string, GlobalHandler>> = {
  'collections.OrderedDict': (args, site) => {
    const map = new Map<unknown, unknown>();
    const items = args[0];
    if (items === undefined || items === null) return map;
    if (items instanceof Map) return new Map(items);
    if (!Array.isArray(items)) return site.fail(`OrderedDict: expected a list of pairs, got ${describe(items)}`);
    for (const pair of items) {
      if (!Array.isArray(pair) || pair.length !== 2) site.fail('OrderedDict: expected (key, value) pairs');
      map.set(pair[0], pair[1]);
    }
    return map;
  },
  'torch._utils._rebuild_tensor': (args, site) => rebuildTensor(args, site, '_rebuild_tensor'),
  'torch._utils._rebuild_tensor_v2': (args, site) => rebuildTensor(args, site, '_rebuild_tensor_v2'),
  'torch._utils._rebuild_tensor_v3': rebuildTensorV3,
  'torch._utils._rebuild_parameter': (args, site) => withRequiresGrad(args[0], args[1], site, '_rebuild_parameter'),
  'torch._utils._rebuild_parameter_with_state': (args, site) => withRequiresGrad(args[0], args[1], site, '_rebuild_parameter_with_state'),
  'torch._tensor._rebuild_from_type_v2': (args, site) => rebuildFromType(args, site),
  'torch._tensor._rebuild_from_type': (args, site) => rebuildFromType(args, site),
  'torch.device': (args, site) => {
    const [type, index] = args;
    if (typeof type !== 'string') return site.fail(`torch.device: expected a device type string, got ${describe(type)}`);
    return typeof index === 'number' ? `${type}:${index}` : type;
  },
  'torch.Size': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.set': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  'builtins.frozenset': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  'builtins.bytearray': (args, site) => {
    const [source, encoding] = args;
    if (source === undefined) return new Uint8Array(0);
    if (source instanceof Uint8Array) return source.slice();
    if (typeof source === 'string') return encodeString(source, encoding, site);
    if (Array.isArray(source)) return Uint8Array.from(source.map((b, i) => intArg(b, `bytearray[${i}]`, site)));
    return site.fail(`bytearray: unsupported argument ${describe(source)}`);
  },
  '_codecs.encode': (args, site) => encodeString(args[0], args[1], site),
  'numpy.core.multiarray._reconstruct': (): NumpyArray => ({ kind: 'ndarray', shape: [], dtype: '', data: new Uint8Array(0) }),
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy.dtype': (args, site): NumpyDtype => {
    const [spec] = args;
    if (typeof spec !== 'string') return site.fail(`numpy.dtype: expected a type string, got ${describe(spec)}`);
    const order = /^[<>|=]/.exec(spec)?.[0] ?? '|';
    return { kind: 'numpy-dtype', code: order === '|' && spec[0] !== '|' ? spec : spec.slice(1), byteOrder: order };
  },
  'copyreg._reconstructor': (args): PickledObject => {
    const [cls] = args;
    const className = isPickleGlobal(cls) ? qualifiedName(cls) : 'copyreg._reconstructor';
    return { kind: 'object', className, args: args.slice(1), state: undefined };
  },
};

function rebuildFromType(args: readonly unknown[], site: CallSite): unknown {
  const [func, , funcArgs] = args;
  if (!isPickleGlobal(func)) return site.fail(`_rebuild_from_type: expected a function, got ${describe(func)}`);
  if (!Array.isArray(funcArgs)) return site.fail(`_rebuild_from_type: expected an argument tuple, got ${describe(funcArgs)}`);
  return callGlobal(func, funcArgs, site);
}

/**
 * What REDUCE/NEWOBJ of `callee(args)` produce: a whitelisted constructor's JS result, or an
 * inert record of the call for anything else.
 */
export function callGlobal(callee: PickleGlobal, args: readonly unknown[], site: CallSite): unknown {
  const name = qualifiedName(callee);
  const handler = HANDLERS[name];
  if (handler) return handler(args, site);
  const placeholder: PickledObject = { kind: 'object', className: name, args: [...args], state: undefined };
  return placeholder;
}

/** BUILD: gives `target` its pickled state (`__setstate__` / `__dict__.update` in Python). */
export function applyBuild(target: unknown, state: unknown, site: CallSite): void {
  if (isPickledObject(target)) {
    target.state = state;
    return;
  }
  if (isNumpyArray(target)) {
    buildNumpyArray(target, state, site);
    return;
  }
  if (isNumpyDtype(target)) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    if (Array.isArray(state) && typeof state[1] === 'string') target.byteOrder = state[1];
    return;
  }
  // Attributes on dicts (a state_dict's `_metadata`) and parameters (hooks' state) carry
  // nothing the reader needs: dropped.
}
