import { readFile } from 'node:fs/promises';
import type { NpyFileHeader } from 'shared';
import { hashBytes, readNpyHeader } from 'shared';
import { FEATURE_DESCRS } from './constants.js';
import type { FeatureExpectation, FeatureFileCheck, FeatureFileProblem, FeatureHeaderCheck, FeatureProblemCode } from './types.js';

/**
 * The header checks of one feature file, reading only its header: a little-endian C-order
 * float32 (or float64) `[rows, D]` array with at least one row, exactly as long as its header
 * says (so a header claiming 2^40 rows costs one small read), of the expected rows and width.
 */
export async function checkFeatureHeader(file: string, expected: FeatureExpectation = {}): Promise<FeatureHeaderCheck> {
  const refuse = (code: FeatureProblemCode, why: string): FeatureFileProblem => ({
    ok: false,
    path: file,
    code,
    detail: `${file}: ${why}`,
  });
  let header: NpyFileHeader;
  try {
    header = await readNpyHeader(file);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return refuse('missing', 'expected a feature file, got none');
    if (errno === 'EISDIR') return refuse('unreadable', 'expected a .npy file, got a folder');
    return refuse('unreadable', `expected a .npy file (${(error as Error).message.replace(`${file}: `, '')})`);
  }
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
 * Checks one feature file as `import-features` needs it: the header checks (`checkFeatureHeader`),
 * then, only for a file that passes them, one read of the whole file to hash it and to check
 * that every value is finite.
 */
export async function checkFeatureFile(file: string, expected: FeatureExpectation = {}): Promise<FeatureFileCheck> {
  const head = await checkFeatureHeader(file, expected);
  if (!head.ok) return head;
  const { header, rows, width, itemSize } = head;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return { ok: false, path: file, code: 'unreadable', detail: `${file}: read failed (${(error as Error).message})` };
  }
  if (bytes.length !== header.fileSize) {
    return {
      ok: false,
      path: file,
      code: 'size',
      detail: `${file}: expected ${header.fileSize} bytes, read ${bytes.length} (the file changed while read)`,
    };
  }
  const bad = firstNonFinite(bytes.subarray(header.dataOffset), itemSize);
  if (bad !== undefined) {
    return {
      ok: false,
      path: file,
      code: 'not_finite',
      detail: `${file}: expected finite values, got ${bad.count} NaN or infinite (the first, ${bad.value}, at row ${Math.floor(bad.index / width)}, column ${bad.index % width})`,
    };
  }
  return { ok: true, path: file, hash: hashBytes(bytes), bytes: header.fileSize, rows, width };
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
