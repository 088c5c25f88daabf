import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { NpyFileHeader } from 'shared/worker';
import { NPY_HEADER_PROBE_BYTES, hashBytes, parseNpyHeader, readNpyHeaderSync, stampOf } from 'shared/worker';
import { FEATURE_DESCRS } from './constants.js';
import type { FeatureExpectation, FeatureFileCheck, FeatureFileProblem, FeatureHeaderCheck, FeatureProblemCode } from './types.js';

// This module is what the file-check worker threads load: it imports `shared/worker` only.

function refusal(file: string, code: FeatureProblemCode, why: string): FeatureFileProblem {
  return { ok: false, path: file, code, detail: `${file}: ${why}` };
}

/**
 * The header checks of a feature file, on its parsed header and its size: a little-endian C-order
 * float32 (or float64) `[rows, D]` array with at least one row, exactly as long as its header says
 * (so a header claiming 2^40 rows is refused before anything more is read), of the expected rows
 * and width.
 */
function checkHeaderFields(file: string, header: NpyFileHeader, expected: FeatureExpectation = {}): FeatureHeaderCheck {
  const refuse = (code: FeatureProblemCode, why: string) => refusal(file, code, why);
  const { descr, shape, dataOffset, fileSize } = header;
  if (descr.startsWith('>')) return refuse('big_endian', `expected little-endian float32 ('<f4'), got big-endian '${descr}'`);
  const itemSize = FEATURE_DESCRS[descr];
  if (itemSize === undefined) return refuse('dtype', `expected float32 ('<f4') or float64 ('<f8'), got '${descr}'`);
  if (header.fortranOrder) return refuse('fortran_order', 'expected C order, got fortran_order True');
  if (shape.length !== 2) return refuse('rank', `expected a 2-D [windows, D] array, got shape (${shape.join(', ')})`);
  const [rows, width] = shape as [number, number];
  if (rows === 0 || width === 0) return refuse('empty', `expected at least one row of features, got shape (${rows}, ${width})`);
  // In bigints: a crafted header's rows x D x itemSize need not be a safe integer.
  const wanted = BigInt(dataOffset) + BigInt(rows) * BigInt(width) * BigInt(itemSize);
  if (wanted !== BigInt(fileSize)) {
    const why = wanted > BigInt(fileSize) ? 'truncated' : 'trailing bytes';
    return refuse('size', `expected ${wanted} bytes for shape (${rows}, ${width}) ${descr}, got ${fileSize} (${why})`);
  }
  if (expected.width !== undefined && width !== expected.width) {
    return refuse('width', `expected D = ${expected.width} (the dataset's feature width), got D = ${width}`);
  }
  if (expected.rows !== undefined && rows !== expected.rows) {
    return refuse('rows', `expected ${expected.rows} rows (the window count its list gives), got ${rows}`);
  }
  return { ok: true, path: file, header, rows, width, itemSize };
}

/**
 * The header checks of one feature file (`checkHeaderFields`), reading only its header: what
 * packing probes before it reads a file (a header claiming 2^40 rows costs one small read).
 */
export function checkFeatureHeader(file: string, expected: FeatureExpectation = {}): FeatureHeaderCheck {
  let header: NpyFileHeader;
  try {
    header = readNpyHeaderSync(file);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return refusal(file, 'missing', 'expected a feature file, got none');
    if (errno === 'EISDIR') return refusal(file, 'unreadable', 'expected a .npy file, got a folder');
    return refusal(file, 'unreadable', `expected a .npy file (${(error as Error).message.replace(`${file}: `, '')})`);
  }
  return checkHeaderFields(file, header, expected);
}

/** Reads the file's first `length` bytes into `into`; fewer only when the file is shorter. */
function readFully(fd: number, into: Uint8Array, length: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Checks one feature file as `import-features` needs it, in one open: the header checks
 * (`checkHeaderFields`, on the first bytes only), then, for a file that passes them, one read of
 * the whole file to hash it and to check that every value is finite. Synchronous on purpose: it
 * runs in the file-check worker threads (or in the main thread for a small import), where
 * hundreds of thousands of small files cost far less without a thread-pool round trip each. The
 * stamp is the open file's (size, mtime, inode), taken before the read.
 */
export function checkFeatureFile(file: string, expected: FeatureExpectation = {}): FeatureFileCheck {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return refusal(file, 'missing', 'expected a feature file, got none');
    return refusal(file, 'unreadable', `expected a readable .npy file, got ${errno ?? (error as Error).message}`);
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile()) return refusal(file, 'unreadable', 'expected a .npy file, got a folder');
    const size = Number(stats.size);
    const probe = new Uint8Array(Math.min(size, NPY_HEADER_PROBE_BYTES));
    let header: NpyFileHeader;
    try {
      readFully(fd, probe, probe.length);
      header = { ...parseNpyHeader(probe, file), fileSize: size };
    } catch (error) {
      // a header longer than the probe is legal, if unusual: the whole file is read before giving up
      let parsed: NpyFileHeader | undefined;
      if (size > NPY_HEADER_PROBE_BYTES) {
        try {
          const whole = new Uint8Array(size);
          readFully(fd, whole, size);
          parsed = { ...parseNpyHeader(whole, file), fileSize: size };
        } catch {}
      }
      if (parsed === undefined)
        return refusal(file, 'unreadable', `expected a .npy file (${(error as Error).message.replace(`${file}: `, '')})`);
      header = parsed;
    }
    const head = checkHeaderFields(file, header, expected);
    if (!head.ok) return head;
    const bytes = new Uint8Array(size);
    const read = readFully(fd, bytes, size);
    if (read !== size) return refusal(file, 'size', `expected ${size} bytes, read ${read} (the file changed while read)`);
    const bad = firstNonFinite(bytes.subarray(header.dataOffset), head.itemSize);
    if (bad !== undefined) {
      return refusal(
        file,
        'not_finite',
        `expected finite values, got ${bad.count} NaN or infinite (the first, ${bad.value}, at row ${Math.floor(bad.index / head.width)}, column ${bad.index % head.width})`,
      );
    }
    return { ok: true, path: file, hash: hashBytes(bytes), bytes: size, rows: head.rows, width: head.width, stamp: stampOf(stats) };
  } catch (error) {
    return refusal(file, 'unreadable', `read failed (${(error as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

/** The count of NaN/infinite values and the first one's index and value, or undefined when all are finite. */
export function firstNonFinite(data: Uint8Array, itemSize: number): { index: number; value: number; count: number } | undefined {
  // a copy when the data does not start on an element boundary (a typed view needs one)
  const aligned = data.byteOffset % itemSize === 0 ? data : Uint8Array.prototype.slice.call(data);
  const values =
    itemSize === 4
      ? new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
      : new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 8);
  let first: { index: number; value: number } | undefined;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (Number.isFinite(value)) continue;
    count += 1;
    first ??= { index: i, value };
  }
  return first === undefined ? undefined : { ...first, count };
}
