/**
 * Writes a float32 state dict as `torch.save` does (a zip of `<archive>/data.pkl`, one storage
 * per tensor under `<archive>/data/<i>`, `byteorder`, `version`), one tensor at a time, so a
 * model of gigabytes never sits in memory whole: what `torch.load` and `openTorchCheckpoint`
 * read. Used to build full-size random checkpoints (the ViT-g benchmark) and test files.
 */
import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32, deflateRawSync } from 'node:zlib';
import { CheckpointError, writeFileAtomic, writeFully } from 'shared';
import { TORCH_WRITER_VERSION, ZIP_LOCAL_HEADER_MAGIC } from './constants.js';
import type { WriteTorchStateDictOptions } from './types.js';

const ZIP_CENTRAL_MAGIC = 0x02014b50;
const ZIP_END_MAGIC = 0x06054b50;
const ZIP64_END_MAGIC = 0x06064b50;
const ZIP64_LOCATOR_MAGIC = 0x07064b50;
const ZIP32_LIMIT = 0xffffffff;

/** Pickle opcodes of protocol 2, the handful a state dict needs. */
const OP = {
  PROTO: 0x80,
  EMPTY_DICT: 0x7d,
  MARK: 0x28,
  BINUNICODE: 0x58,
  GLOBAL: 0x63,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  REDUCE: 0x52,
  BININT: 0x4a,
  NEWFALSE: 0x89,
  BINPERSID: 0x51,
  SETITEMS: 0x75,
  SETITEM: 0x73,
  STOP: 0x2e,
} as const;

class PickleWriter {
  private readonly bytes: number[] = [OP.PROTO, 2];
  op(code: number): this {
    this.bytes.push(code);
    return this;
  }
  string(text: string): this {
    const utf8 = Buffer.from(text, 'utf8');
    this.op(OP.BINUNICODE).u32(utf8.length);
    for (const byte of utf8) this.bytes.push(byte);
    return this;
  }
  int(value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new CheckpointError(`writeTorchStateDict: ${value} does not fit a 32-bit pickle int`);
    }
    return this.op(OP.BININT).u32(value >>> 0);
  }
  global(module: string, name: string): this {
    this.op(OP.GLOBAL);
    for (const byte of Buffer.from(`${module}\n${name}\n`, 'latin1')) this.bytes.push(byte);
    return this;
  }
  tupleOfInts(values: readonly number[]): this {
    this.op(OP.MARK);
    for (const v of values) this.int(v);
    return this.op(OP.TUPLE);
  }
  finish(): Uint8Array {
    return new Uint8Array([...this.bytes, OP.STOP]);
  }
  private u32(n: number): this {
    this.bytes.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    return this;
  }
}

function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) stride[d] = (stride[d + 1] as number) * (shape[d + 1] as number);
  return stride;
}

/** `{container: OrderedDict(key -> _rebuild_tensor_v2(storage i, 0, shape, stride, False, OrderedDict()))}`, or the bare dict. */
function statePickle(entries: WriteTorchStateDictOptions['entries'], container: string | null): Uint8Array {
  const p = new PickleWriter();
  if (container !== null) p.op(OP.EMPTY_DICT).string(container);
  p.global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE).op(OP.REDUCE).op(OP.MARK);
  entries.forEach(({ key, shape }, index) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    p.string(key).global('torch._utils', '_rebuild_tensor_v2').op(OP.MARK);
    p.op(OP.MARK).string('storage').global('torch', 'FloatStorage').string(String(index)).string('cpu').int(numel).op(OP.TUPLE);
    p.op(OP.BINPERSID).int(0).tupleOfInts(shape).tupleOfInts(contiguousStride(shape)).op(OP.NEWFALSE);
    p.global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE).op(OP.REDUCE).op(OP.TUPLE).op(OP.REDUCE);
  });
  p.op(OP.SETITEMS);
  if (container !== null) p.op(OP.SETITEM);
  return p.finish();
}

interface WrittenEntry {
  name: Buffer;
  method: 0 | 8;
  crc: number;
  compressed: number;
  uncompressed: number;
  offset: number;
}

/** One zip entry: local header, then its data. Returns the position after it. */
async function writeEntry(handle: FileHandle, position: number, name: string, data: Uint8Array, deflate: boolean, out: WrittenEntry[]) {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = deflate ? deflateRawSync(data) : data;
  const entry: WrittenEntry = {
    name: nameBytes,
    method: deflate ? 8 : 0,
    crc: crc32(data),
    compressed: body.length,
    uncompressed: data.length,
    offset: position,
  };
  if (entry.compressed >= ZIP32_LIMIT || entry.uncompressed >= ZIP32_LIMIT) {
    throw new CheckpointError(
      `writeTorchStateDict: entry ${name} is ${data.length} bytes, more than a zip entry of this writer holds (4 GiB)`,
    );
  }
  const local = Buffer.alloc(30);
  local.writeUInt32LE(ZIP_LOCAL_HEADER_MAGIC, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(entry.method, 8);
  local.writeUInt32LE(entry.crc, 14);
  local.writeUInt32LE(entry.compressed, 18);
  local.writeUInt32LE(entry.uncompressed, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  let at = await writeFully(handle, Buffer.concat([local, nameBytes]), position);
  at = await writeFully(handle, body, at);
  out.push(entry);
  return at;
}

/** The central directory; zip64 records when an offset passes 4 GiB (as torch.save's writer does). */
async function writeCentralDirectory(handle: FileHandle, position: number, entries: readonly WrittenEntry[]): Promise<number> {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const zip64 = e.offset >= ZIP32_LIMIT;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(ZIP_CENTRAL_MAGIC, 0);
    central.writeUInt16LE(zip64 ? 45 : 20, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt32LE(e.crc, 16);
    central.writeUInt32LE(e.compressed, 20);
    central.writeUInt32LE(e.uncompressed, 24);
    central.writeUInt16LE(e.name.length, 28);
    central.writeUInt16LE(zip64 ? 12 : 0, 30);
    central.writeUInt32LE(zip64 ? ZIP32_LIMIT : e.offset, 42);
    parts.push(central, e.name);
    if (zip64) {
      const extra = Buffer.alloc(12);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(8, 2);
      extra.writeBigUInt64LE(BigInt(e.offset), 4);
      parts.push(extra);
    }
  }
  const directory = Buffer.concat(parts);
  const directoryEnd = position + directory.length;
  const zip64 = position >= ZIP32_LIMIT || directoryEnd >= ZIP32_LIMIT || entries.some((e) => e.offset >= ZIP32_LIMIT);
  const tail: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(ZIP64_END_MAGIC, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(position), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(ZIP64_LOCATOR_MAGIC, 0);
    locator.writeBigUInt64LE(BigInt(directoryEnd), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(ZIP_END_MAGIC, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(zip64 ? ZIP32_LIMIT : position, 16);
  return writeFully(handle, Buffer.concat([directory, ...tail, end]), position);
}

/**
 * Writes `entries` (float32, row-major; `values(key)` gives each one's values when its turn
 * comes) to `path` as a torch zip checkpoint, atomically: under `container` (`module`, as the
 * official VideoMAE v2 checkpoints; null for a bare state dict), storages stored (torch's
 * choice) or deflated.
 */
export async function writeTorchStateDict(path: string, options: WriteTorchStateDictOptions): Promise<void> {
  const { entries, values, container = 'module', archive = 'archive', deflate = false } = options;
  // float32 bytes go out in host order, and the archive says little
  if (endianness() !== 'LE') throw new CheckpointError(`writeTorchStateDict: expected a little-endian host, got ${endianness()}`, path);
  await writeFileAtomic(path, async (handle) => {
    const written: WrittenEntry[] = [];
    let at = await writeEntry(handle, 0, `${archive}/data.pkl`, statePickle(entries, container), false, written);
    at = await writeEntry(handle, at, `${archive}/byteorder`, Buffer.from('little'), false, written);
    for (const [index, { key, shape }] of entries.entries()) {
      const data = await values(key);
      const numel = shape.reduce((a, b) => a * b, 1);
      if (data.length !== numel) {
        throw new CheckpointError(
          `writeTorchStateDict: ${key}: expected ${numel} values for shape [${shape.join(', ')}], got ${data.length}`,
          path,
        );
      }
      at = await writeEntry(
        handle,
        at,
        `${archive}/data/${index}`,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        deflate,
        written,
      );
    }
    at = await writeEntry(handle, at, `${archive}/version`, Buffer.from(`${TORCH_WRITER_VERSION}\n`), false, written);
    await writeCentralDirectory(handle, at, written);
  });
}
