import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { parse as parseNpyBuffer } from 'npyjs';
import { writeFileAtomic } from '../atomic/write-file-atomic.js';
import { InputError } from '../errors/index.js';
import {
  NPY_ARRAY_ALIGN,
  NPY_DESCR,
  NPY_DTYPE_OF_DESCR,
  NPY_GROWTH_AXIS_MAX_DIGITS,
  NPY_HEADER_PROBE_BYTES,
  NPY_ITEM_SIZE,
  NPY_MAGIC,
} from './constants.js';
import type { NpyArray, NpyArrayOf, NpyData, NpyDtype, NpyFileHeader, NpyHeader, NpyWriteInput } from './types.js';

// Typed arrays use the host byte order and .npy files here are little-endian.
if (endianness() !== 'LE') throw new Error('npy: expected a little-endian machine');

/**
 * Parses the header at the start of `bytes` (which must hold all of it, not necessarily the
 * data): format versions 1, 2 and 3, any `descr` and order (the caller decides what it accepts).
 * `source` names the file in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, source = '<bytes>'): NpyHeader {
  if (bytes.length < 10 || ![...NPY_MAGIC].every((char, i) => bytes[i] === char.charCodeAt(0))) {
    throw new InputError(`cannot read ${source}: expected a .npy file (magic \\x93NUMPY), got other bytes`, source);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if ((major === 2 || major === 3) && bytes.length >= 12) {
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new InputError(`cannot read ${source}: expected .npy format version 1, 2 or 3, got ${String(major)}`, source);
  }
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    throw new InputError(
      `cannot read ${source}: expected a ${headerLength}-byte .npy header, got ${bytes.length - headerStart} bytes`,
      source,
    );
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(headerStart, dataOffset));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`cannot read ${source}: expected a .npy header with descr, fortran_order and shape, got ${text.trim()}`, source);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => Number(part.replace(/L$/, '')));
  if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new InputError(`cannot read ${source}: expected a shape of non-negative integers, got (${shapeText})`, source);
  }
  return { descr, dtype: NPY_DTYPE_OF_DESCR[descr], fortranOrder: fortran === 'True', shape, dataOffset };
}

/**
 * Reads only the header of a .npy file, plus its size on disk: the shape and data offset of a
 * multi-gigabyte file without loading it (packing probes tens of thousands of feature files,
 * and opening a packed dataset checks its data files before reading them).
 */
export async function readNpyHeader(filePath: string): Promise<NpyFileHeader> {
  const handle = await open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    const probe = new Uint8Array(Math.min(size, NPY_HEADER_PROBE_BYTES));
    await handle.read(probe, 0, probe.length, 0);
    let header: NpyHeader;
    try {
      header = parseNpyHeader(probe, filePath);
    } catch (error) {
      // A header longer than the probe is legal, if unusual: read the file whole before giving up.
      if (size <= NPY_HEADER_PROBE_BYTES) throw error;
      header = parseNpyHeader(await readFile(filePath), filePath);
    }
    return { ...header, fileSize: size };
  } finally {
    await handle.close();
  }
}

/**
 * `readNpyHeader` without the thread-pool round trips: for passes over hundreds of thousands of
 * small files (packing probes every feature file), where a synchronous read costs microseconds.
 */
export function readNpyHeaderSync(filePath: string): NpyFileHeader {
  const fd = openSync(filePath, 'r');
  try {
    const { size } = fstatSync(fd);
    const probe = new Uint8Array(Math.min(size, NPY_HEADER_PROBE_BYTES));
    readSync(fd, probe, 0, probe.length, 0);
    let header: NpyHeader;
    try {
      header = parseNpyHeader(probe, filePath);
    } catch (error) {
      // A header longer than the probe is legal, if unusual: read the file whole before giving up.
      if (size <= NPY_HEADER_PROBE_BYTES) throw error;
      header = parseNpyHeader(readFileSync(filePath), filePath);
    }
    return { ...header, fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses the bytes of a .npy file (C order, dtypes of NpyDtype) with npyjs; `source` names it in
 * errors. The header is checked first by `parseNpyHeader` (the same parser `readNpyHeader` uses on
 * large files), so a file is accepted or refused for the same reasons either way.
 */
export function parseNpy(bytes: Uint8Array, source = '<bytes>'): NpyArray {
  const header = parseNpyHeader(bytes, source);
  if (header.fortranOrder) {
    throw new InputError(`cannot read ${source}: expected C order, got fortran_order True`, source);
  }
  const { dtype, shape, dataOffset } = header;
  if (dtype === undefined) {
    throw new InputError(
      `cannot read ${source}: expected dtype one of ${Object.values(NPY_DESCR).join(', ')}, got ${header.descr}`,
      source,
    );
  }
  const count = elementCount(shape, source);
  const itemSize = NPY_ITEM_SIZE[dtype];
  const byteLength = bytes.length - dataOffset;
  if (byteLength !== count * itemSize) {
    const why = byteLength < count * itemSize ? 'truncated file' : 'trailing bytes';
    throw new InputError(
      `cannot read ${source}: expected ${count} elements for shape (${shape.join(', ')}), got ${Math.floor(byteLength / itemSize)} (${why})`,
      source,
    );
  }
  // npyjs builds typed views on an ArrayBuffer from the data offset, so it needs a buffer that
  // holds exactly the file: Node hands out small files as slices of a shared pool, copy those.
  const whole =
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : Uint8Array.prototype.slice.call(bytes).buffer; // a copy (Buffer#slice would be a view of the pool)
  let parsed: ReturnType<typeof parseNpyBuffer>;
  try {
    parsed = parseNpyBuffer(whole);
  } catch (error) {
    throw new InputError(`cannot read ${source}: expected a .npy file (${(error as Error).message})`, source, { cause: error });
  }
  let data: NpyData;
  if (dtype === 'bool') {
    // npyjs gives booleans; numpy stores False/True as 0/1 bytes, which is what we hand out.
    const values = parsed.data as unknown as ArrayLike<boolean>;
    data = Uint8Array.from({ length: values.length }, (_, i) => (values[i] ? 1 : 0));
  } else {
    data = parsed.data as unknown as NpyData;
  }
  return { dtype, shape: [...shape], data } as NpyArray;
}

/** Reads a .npy file. */
export async function readNpy(filePath: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    throw new InputError(`cannot read ${filePath}: ${(error as Error).message}`, filePath, { cause: error });
  }
  return parseNpy(bytes, filePath);
}

/** Reads a .npy file synchronously (for loaders that read many small files in a tight loop). */
export function readNpySync(filePath: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(filePath);
  } catch (error) {
    throw new InputError(`cannot read ${filePath}: ${(error as Error).message}`, filePath, { cause: error });
  }
  return parseNpy(bytes, filePath);
}

/** Reads a .npy file that must hold `dtype`; throws an InputError naming the file otherwise. */
export async function readNpyAs<D extends NpyDtype>(filePath: string, dtype: D): Promise<NpyArrayOf<D>> {
  const array = await readNpy(filePath);
  if (array.dtype !== dtype) {
    throw new InputError(`cannot read ${filePath}: expected dtype ${dtype}, got ${array.dtype}`, filePath);
  }
  return array as NpyArrayOf<D>;
}

/**
 * The .npy header numpy.save writes for a C-order array: magic, version 1.0 (2.0 past 64 KiB of
 * header), the dict repr with numpy's spacing, room for the first axis to grow, padded with
 * spaces and a newline so the data starts on a multiple of 64 bytes.
 */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${NPY_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, NPY_GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  let version = 1;
  let lengthFieldBytes = 2;
  let padded = padHeader(dict, 6 + 2 + lengthFieldBytes);
  if (padded.length > 0xffff) {
    version = 2;
    lengthFieldBytes = 4;
    padded = padHeader(dict, 6 + 2 + lengthFieldBytes);
  }
  const prefixBytes = 6 + 2 + lengthFieldBytes;
  const header = new Uint8Array(prefixBytes + padded.length);
  for (let i = 0; i < NPY_MAGIC.length; i++) header[i] = NPY_MAGIC.charCodeAt(i);
  header[6] = version;
  header[7] = 0;
  const view = new DataView(header.buffer);
  if (lengthFieldBytes === 2) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) header[prefixBytes + i] = padded.charCodeAt(i);
  return header;
}

function padHeader(dict: string, prefixBytes: number): string {
  // Same arithmetic as numpy's _wrap_header: a header already on the boundary still gets 64 spaces.
  const withNewline = dict.length + 1;
  const padding = NPY_ARRAY_ALIGN - ((prefixBytes + withNewline) % NPY_ARRAY_ALIGN);
  return `${dict}${' '.repeat(padding)}\n`;
}

/** The full .npy bytes of an array (header + data), as numpy.save writes them. */
export function encodeNpy(array: NpyWriteInput): Uint8Array {
  const { header, body } = npyParts(array);
  const bytes = new Uint8Array(header.length + body.length);
  bytes.set(header, 0);
  bytes.set(body, header.length);
  return bytes;
}

/** Writes an array as a .npy file, atomically (temp file, fsync, rename). */
export async function writeNpy(filePath: string, array: NpyWriteInput): Promise<void> {
  const { header, body } = npyParts(array, filePath);
  await writeFileAtomic(filePath, async (handle) => {
    await handle.write(header);
    await handle.write(body);
  });
}

function npyParts(array: NpyWriteInput, target = '<npy>'): { header: Uint8Array; body: Uint8Array } {
  const implied = impliedDtype(array.data);
  const dtype = array.dtype ?? implied;
  if (dtype === undefined || implied !== (dtype === 'bool' ? 'uint8' : dtype)) {
    const expected = dtype === undefined ? 'a typed array of a supported dtype' : `dtype ${dtype} expected a ${expectedArrayName(dtype)}`;
    throw new InputError(`cannot write ${target}: ${expected}, got ${array.data.constructor.name}`, target);
  }
  const count = elementCount(array.shape, target);
  if (count !== array.data.length) {
    throw new InputError(
      `cannot write ${target}: shape (${array.shape.join(', ')}) expected ${count} elements, got ${array.data.length}`,
      target,
    );
  }
  let data = array.data;
  if (dtype === 'bool' && (data as Uint8Array).some((value) => value > 1)) {
    data = (data as Uint8Array).map((value) => (value ? 1 : 0));
  }
  return { header: npyHeader(dtype, array.shape), body: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function impliedDtype(data: NpyData): NpyDtype | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  return undefined;
}

function expectedArrayName(dtype: NpyDtype): string {
  const names: Record<NpyDtype, string> = {
    float32: 'Float32Array',
    float64: 'Float64Array',
    int32: 'Int32Array',
    int64: 'BigInt64Array',
    uint8: 'Uint8Array',
    bool: 'Uint8Array',
  };
  return names[dtype];
}

function elementCount(shape: readonly number[], source: string): number {
  let count = 1;
  for (const dim of shape) {
    if (!(Number.isInteger(dim) && dim >= 0)) {
      throw new InputError(`${source}: shape: expected non-negative integer dimensions, got (${shape.join(', ')})`, source);
    }
    count *= dim;
  }
  return count;
}
