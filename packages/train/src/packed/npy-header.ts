import { open, readFile } from 'node:fs/promises';
import { InputError } from 'shared';

/*
 * Header-only reading of .npy files. 'shared' readNpy parses whole files; packing probes the
 * shape of tens of thousands of feature files before reading any data, and opening a packed
 * dataset checks a multi-gigabyte data file's header, so both need the header alone.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Enough for any header numpy writes for a 1- to 3-D array (numpy itself writes 128 bytes). */
const PROBE_BYTES = 4096;

export interface NpyHeaderInfo {
  /** numpy `descr`, e.g. `<f4`. */
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first element. */
  readonly dataOffset: number;
  /** Size of the whole file on disk. */
  readonly fileSize: number;
}

/** Parses the header at the start of `bytes` (which must hold all of it). */
export function parseNpyHeader(bytes: Uint8Array, file: string): Omit<NpyHeaderInfo, 'fileSize'> {
  if (bytes.length < 10 || !MAGIC.every((byte, i) => bytes[i] === byte)) {
    throw new InputError(`${file}: expected a .npy file (magic \\x93NUMPY), got other bytes`, file);
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
    throw new InputError(`${file}: expected .npy format version 1, 2 or 3, got ${String(major)}`, file);
  }
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    throw new InputError(`${file}: expected a ${headerLength}-byte .npy header, got ${bytes.length - headerStart} bytes`, file);
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(headerStart, dataOffset));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`${file}: expected a .npy header with descr, fortran_order and shape, got ${text.trim()}`, file);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => Number(part.replace(/L$/, '')));
  if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new InputError(`${file}: expected a shape of non-negative integers, got (${shapeText})`, file);
  }
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset };
}

/** Reads just the header of a .npy file, plus its size on disk. */
export async function probeNpyFile(file: string): Promise<NpyHeaderInfo> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const probe = new Uint8Array(Math.min(size, PROBE_BYTES));
    await handle.read(probe, 0, probe.length, 0);
    let header: Omit<NpyHeaderInfo, 'fileSize'>;
    try {
      header = parseNpyHeader(probe, file);
    } catch (error) {
      // A header longer than the probe is legal, if unusual: read the file whole before giving up.
      if (size <= PROBE_BYTES) throw error;
      header = parseNpyHeader(await readFile(file), file);
    }
    return { ...header, fileSize: size };
  } finally {
    await handle.close();
  }
}
