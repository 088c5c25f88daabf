/**
 * The safetensors format (what `safetensors.torch.save_file/load_file` read and write):
 * u64 LE header length, a JSON header `{name: {dtype, shape, data_offsets}, __metadata__}`
 * padded with spaces to 8 bytes, then the raw little-endian tensor bytes back to back.
 * Values are copied byte for byte, never through JS numbers, so NaN payloads and -0 survive.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { CheckpointError, writeFileAtomic, writeFully } from 'shared';
import { bfloat16BitsToFloat32, halfBitsToFloat32 } from '../torch/decode.js';
import { MAX_TENSOR_BYTES } from '../torch/constants.js';
import { HEADER_ALIGNMENT, MAX_HEADER_BYTES, METADATA_KEY, SAFETENSORS_DTYPES } from './constants.js';
import type { SafetensorsContents, SafetensorsDtype, SafetensorsHeaderEntry, SafetensorsTensor } from './types.js';

function assertLittleEndianHost(path: string): void {
  // Typed arrays use the host byte order and the format is little-endian.
  if (endianness() !== 'LE') throw new CheckpointError(`safetensors I/O needs a little-endian host (${path})`, path);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPES, value);
}

function checkTensor(tensor: SafetensorsTensor, path: string): void {
  const { name, dtype, shape, data } = tensor;
  if (typeof name !== 'string' || name === '' || name === METADATA_KEY)
    throw new CheckpointError(`${path}: invalid tensor name ${JSON.stringify(name)}`, path);
  if (!isDtype(dtype))
    throw new CheckpointError(
      `${path}: tensor ${name}: expected a safetensors dtype (${Object.keys(SAFETENSORS_DTYPES).join(', ')}), got ${JSON.stringify(dtype)}`,
      path,
    );
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new CheckpointError(`${path}: tensor ${name}: expected shape to be non-negative integers, got ${JSON.stringify(shape)}`, path);
  }
  const { array } = SAFETENSORS_DTYPES[dtype];
  if (!(data instanceof array)) {
    throw new CheckpointError(
      `${path}: tensor ${name}: dtype ${dtype} expects a ${array.name}, got ${(data as object)?.constructor?.name ?? typeof data}`,
      path,
    );
  }
  if (data.length !== numel(shape)) {
    throw new CheckpointError(
      `${path}: tensor ${name}: shape ${JSON.stringify(shape)} needs ${numel(shape)} values, got ${data.length}`,
      path,
    );
  }
}

/**
 * Writes `tensors` (sorted by name in the header, offsets contiguous) and optional string
 * `metadata` to `path`, atomically. Loadable by `safetensors.torch.load_file`.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsTensor[],
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  assertLittleEndianHost(path);
  const seen = new Set<string>();
  for (const tensor of tensors) {
    checkTensor(tensor, path);
    if (seen.has(tensor.name)) throw new CheckpointError(`${path}: tensor ${tensor.name} given twice`, path);
    seen.add(tensor.name);
  }
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new CheckpointError(`${path}: metadata ${key}: expected a string, got ${typeof value}`, path);
    }
  }
  const ordered = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Built by hand rather than JSON.stringify(object) so that integer-like names ("0", "1")
  // keep the sorted order instead of JS's numeric-keys-first object order.
  const fields: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0)
    fields.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const { name, dtype, shape, data } of ordered) {
    const end = offset + data.byteLength;
    fields.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  await writeFileAtomic(path, async (handle) => {
    let position = await writeFully(handle, header, 0);
    for (const { data } of ordered)
      position = await writeFully(handle, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
  });
}

/** An open safetensors file: the header is parsed, tensors are read one by one on request. */
export class SafetensorsFile {
  readonly path: string;
  /** Header entries by name, in header order. */
  readonly entries: ReadonlyMap<string, SafetensorsHeaderEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly handle: FileHandle;
  private readonly dataStart: number;

  private constructor(
    path: string,
    handle: FileHandle,
    dataStart: number,
    entries: Map<string, SafetensorsHeaderEntry>,
    metadata: Record<string, string>,
  ) {
    this.path = path;
    this.handle = handle;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  static async open(path: string): Promise<SafetensorsFile> {
    assertLittleEndianHost(path);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      throw new CheckpointError(`cannot open safetensors file ${path}: ${(cause as Error).message}`, path, { cause });
    }
    try {
      const { size } = await handle.stat();
      const lengthBytes = new Uint8Array(8);
      if (size < 8 || (await handle.read(lengthBytes, 0, 8, 0)).bytesRead !== 8)
        throw new CheckpointError(
          `${path}: bad safetensors header: expected at least the 8-byte header length, got a ${size}-byte file`,
          path,
          { reason: 'bad_safetensors_header' },
        );
      const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
      if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
        throw new CheckpointError(
          `${path}: bad safetensors header: its length ${headerLength} does not fit a ${size}-byte file (truncated, or not safetensors)`,
          path,
          { reason: 'bad_safetensors_header' },
        );
      }
      const headerBytes = new Uint8Array(Number(headerLength));
      await handle.read(headerBytes, 0, headerBytes.length, 8);
      const dataStart = 8 + headerBytes.length;
      const { entries, metadata } = parseHeader(headerBytes, size - dataStart, path);
      return new SafetensorsFile(path, handle, dataStart, entries, metadata);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Reads one tensor's values, bit for bit. */
  async readTensor(name: string): Promise<SafetensorsTensor> {
    const entry = this.entries.get(name);
    if (!entry) throw new CheckpointError(`${this.path}: no tensor named ${name}`, this.path);
    const [begin, end] = entry.dataOffsets;
    // Checked before allocating: one typed array cannot hold more, and no model of ours needs it.
    if (end - begin > MAX_TENSOR_BYTES) {
      throw new CheckpointError(
        `${this.path}: tensor ${name} (${entry.dtype} ${JSON.stringify(entry.shape)}) is ${end - begin} bytes, more than the ${MAX_TENSOR_BYTES} bytes one tensor may take`,
        this.path,
      );
    }
    const bytes = new Uint8Array(end - begin);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await this.handle.read(bytes, done, Math.min(bytes.length - done, 1 << 30), this.dataStart + begin + done);
      if (bytesRead === 0) throw new CheckpointError(`${this.path} is truncated inside tensor ${name}`, this.path);
      done += bytesRead;
    }
    const { size, array } = SAFETENSORS_DTYPES[entry.dtype];
    return { name, dtype: entry.dtype, shape: [...entry.shape], data: new array(bytes.buffer, 0, bytes.length / size) };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function parseHeader(
  bytes: Uint8Array,
  dataLength: number,
  path: string,
): { entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CheckpointError(`${path}: bad safetensors header: expected JSON, got ${(cause as Error).message}`, path, {
      cause,
      reason: 'bad_safetensors_header',
    });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CheckpointError(`${path}: safetensors header: expected a JSON object`, path, { reason: 'bad_safetensors_header' });
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsHeaderEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    const fail = (what: string, got: unknown): never => {
      throw new CheckpointError(`${path}: safetensors header entry ${name}: expected ${what}, got ${JSON.stringify(got)}`, path, {
        reason: 'bad_safetensors_header',
      });
    };
    if (name === METADATA_KEY) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a string map', raw);
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`metadata ${key} to be a string`, value);
        metadata[key] = value as string;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null) return fail('an object', raw);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) return fail(`dtype to be one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`, dtype);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      return fail('shape to be non-negative integers', shape);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
      offsets[1] < offsets[0]
    ) {
      return fail('data_offsets to be [begin, end]', offsets);
    }
    const bytesNeeded = numel(shape as number[]) * SAFETENSORS_DTYPES[dtype].size;
    if (offsets[1] - offsets[0] !== bytesNeeded)
      fail(`data_offsets to span ${bytesNeeded} bytes for ${dtype} ${JSON.stringify(shape)}`, offsets);
    entries.set(name, { dtype, shape: shape as number[], dataOffsets: [offsets[0] as number, offsets[1] as number] });
  }
  // Like the reference loader: the tensors must tile the data section exactly.
  const spans = [...entries]
    .map(([name, e]) => ({ name, begin: e.dataOffsets[0], end: e.dataOffsets[1] }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const span of spans) {
    if (span.begin !== expected)
      throw new CheckpointError(
        `${path}: tensor ${span.name} starts at byte ${span.begin} of the data, expected ${expected} (offsets must be contiguous)`,
        path,
        { reason: 'bad_safetensors_header' },
      );
    expected = span.end;
  }
  if (expected !== dataLength) {
    throw new CheckpointError(
      `${path}: header describes ${expected} bytes of tensor data but the file holds ${dataLength} (truncated or padded)`,
      path,
      { reason: 'bad_safetensors_header' },
    );
  }
  return { entries, metadata };
}

/** Opens a safetensors file for lazy reads; see `SafetensorsFile`. */
export function openSafetensors(path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path);
}

/** Reads every tensor and the metadata of a safetensors file. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  const file = await SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const name of file.entries.keys()) tensors.set(name, await file.readTensor(name));
    return { tensors, metadata: { ...file.metadata } };
  } finally {
    await file.close();
  }
}

/** Floating tensors as Float32Array (F16/BF16 widened exactly, F64 rounded); others refused. */
export function safetensorsToFloat32(tensor: SafetensorsTensor): Float32Array {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data as Float32Array;
    case 'F16':
      return halfBitsToFloat32(tensor.data as Uint16Array);
    case 'BF16':
      return bfloat16BitsToFloat32(tensor.data as Uint16Array);
    case 'F64':
      return new Float32Array(tensor.data as Float64Array);
    default:
      throw new CheckpointError(`tensor ${tensor.name}: expected a floating dtype, got ${tensor.dtype}`);
  }
}
