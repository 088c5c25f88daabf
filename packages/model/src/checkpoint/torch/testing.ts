/**
 * Test helpers (not exported from the package): a minimal zip writer, a zip entry reader,
 * and a pickle writer that spells out the handful of opcodes torch.save uses, so tests can
 * build checkpoints byte by byte without Python.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import type { Entry } from 'yauzl';

export { fixturesDir } from 'shared';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 0 stored (torch's choice), 8 deflated. */
  method?: 0 | 8;
  /** Uncompressed size written into the headers instead of the true one (hostile-input tests; > 4 GiB needs zip64). */
  declaredSize?: number;
}

/**
 * Writes a zip archive, entries in the given order. With `zip64`, every size and offset goes
 * through zip64 extra fields and a zip64 end record, as writers do past 4 GiB.
 */
export function buildZip(entries: readonly ZipInput[], options: { zip64?: boolean } = {}): Uint8Array {
  const zip64 = options.zip64 === true;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, method = 0, declaredSize = data.length } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = method === 8 ? deflateRawSync(data) : Buffer.from(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? 0xffffffff : body.length, 18);
    local.writeUInt32LE(zip64 ? 0xffffffff : declaredSize, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    let localExtra = Buffer.alloc(0);
    let centralExtra = Buffer.alloc(0);
    if (zip64) {
      localExtra = Buffer.alloc(20);
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(declaredSize), 4);
      localExtra.writeBigUInt64LE(BigInt(body.length), 12);
      centralExtra = Buffer.alloc(28);
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(declaredSize), 4);
      centralExtra.writeBigUInt64LE(BigInt(body.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    local.writeUInt16LE(localExtra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(zip64 ? 45 : 20, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : declaredSize, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    locals.push(local, nameBytes, localExtra, body);
    centrals.push(central, nameBytes, centralExtra);
    offset += local.length + nameBytes.length + localExtra.length + body.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const tail: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(centralSize), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + centralSize), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : centralSize, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  tail.push(end);
  return new Uint8Array(Buffer.concat([...locals, ...centrals, ...tail]));
}

/** Every entry of a zip file, decompressed, in archive order. */
export function readZipEntries(zipPath: string): Promise<ZipInput[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out: ZipInput[] = [];
      zip.on('entry', (entry: Entry) => {
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.push({ name: entry.fileName, data: new Uint8Array(Buffer.concat(chunks)) });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** A Python value to pickle. Plain JS arrays are tuples. */
export type Py =
  | string
  | number
  | boolean
  | null
  | { float: number }
  | { bytes: Uint8Array }
  | { list: Py[] }
  | { dict: Array<[Py, Py]> }
  | { global: [string, string] }
  | { reduce: [Py, Py[]] }
  | { build: [Py, Py] }
  | { persid: Py }
  | { raw: number[] }
  | Py[];

/** Serializes `value` with protocol-2 opcodes (the ones torch.save writes). */
export function pickle(value: Py, protocol = 2): Uint8Array {
  const out: number[] = [0x80, protocol];
  const u32 = (n: number): void => {
    out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  };
  const emit = (v: Py): void => {
    if (v === null) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      out.push(0x58);
      u32(b.length);
      out.push(...b);
    } else if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error(`pickle(): ${v} needs LONG1/BINFLOAT`);
      out.push(0x4a);
      u32(v >>> 0);
    } else if (Array.isArray(v)) {
      out.push(0x28);
      v.forEach(emit);
      out.push(0x74);
    } else if ('float' in v) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v.float);
      out.push(0x47, ...b);
    } else if ('bytes' in v) {
      out.push(0x42);
      u32(v.bytes.length);
      out.push(...v.bytes);
    } else if ('list' in v) {
      out.push(0x5d, 0x28);
      v.list.forEach(emit);
      out.push(0x65);
    } else if ('dict' in v) {
      out.push(0x7d, 0x28);
      for (const [k, item] of v.dict) {
        emit(k);
        emit(item);
      }
      out.push(0x75);
    } else if ('global' in v) {
      out.push(0x63, ...Buffer.from(`${v.global[0]}\n${v.global[1]}\n`, 'latin1'));
    } else if ('reduce' in v) {
      emit(v.reduce[0]);
      emit(v.reduce[1]);
      out.push(0x52);
    } else if ('build' in v) {
      emit(v.build[0]);
      emit(v.build[1]);
      out.push(0x62);
    } else if ('persid' in v) {
      emit(v.persid);
      out.push(0x51);
    } else if ('raw' in v) out.push(...v.raw);
  };
  emit(value);
  out.push(0x2e);
  return new Uint8Array(out);
}

/** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`. */
export function torchTensor(
  storage: { type: string; key: string; numel: number; location?: string },
  offset: number,
  size: number[],
  stride: number[],
): Py {
  return {
    reduce: [
      { global: ['torch._utils', '_rebuild_tensor_v2'] },
      [
        { persid: ['storage', { global: ['torch', storage.type] }, storage.key, storage.location ?? 'cpu', storage.numel] },
        offset,
        size,
        stride,
        false,
        { reduce: [{ global: ['collections', 'OrderedDict'] }, []] },
      ],
    ],
  };
}

/** Row-major strides of a shape. */
export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = step;
    step *= shape[d]!;
  }
  return stride;
}

/** A torch checkpoint archive: `<archive>/data.pkl`, the storages, `version`, optional `byteorder`. */
export function buildTorchZip(
  archive: string,
  root: Py,
  storages: Record<string, Uint8Array>,
  options: {
    byteorder?: string;
    deflate?: string[];
    pickleBytes?: Uint8Array;
    zip64?: boolean;
    /** Storage sizes to declare instead of the true ones. */
    declare?: Record<string, number>;
  } = {},
): Uint8Array {
  const entries: ZipInput[] = [{ name: `${archive}/data.pkl`, data: options.pickleBytes ?? pickle(root) }];
  if (options.byteorder) entries.push({ name: `${archive}/byteorder`, data: Buffer.from(options.byteorder) });
  for (const [key, data] of Object.entries(storages))
    entries.push({
      name: `${archive}/data/${key}`,
      data,
      method: options.deflate?.includes(key) ? 8 : 0,
      ...(options.declare?.[key] === undefined ? {} : { declaredSize: options.declare[key] }),
    });
  entries.push({ name: `${archive}/version`, data: Buffer.from('3\n') });
  return buildZip(entries, { zip64: options.zip64 });
}

export function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
