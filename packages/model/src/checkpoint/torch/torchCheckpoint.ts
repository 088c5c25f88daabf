/**
 * Reader for PyTorch zip checkpoints (torch.save since 1.6): `<archive>/data.pkl` holds the
 * object tree, `<archive>/data/<key>` one raw storage each. The central directory is read
 * once with yauzl; a tensor's bytes are then read straight from the file with a positioned
 * read of just its span, so multi-GB checkpoints never sit in memory whole and reading one
 * tensor never touches the others.
 */
import type { FileHandle } from 'node:fs/promises';
import { open as openFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CheckpointError } from 'shared';
import {
  DATA_PARALLEL_PREFIX,
  DEFAULT_MAX_PICKLE_BYTES,
  DEFAULT_STATE_DICT_KEYS,
  DEFAULT_BUDGET_FILE_FACTOR,
  DEFAULT_BUDGET_FLOOR_BYTES,
  MAX_TENSOR_BYTES,
  TORCH_DTYPE_SIZE,
  TORCH_STORAGE_DTYPES,
  ZIP_LOCAL_HEADER_MAGIC,
} from './constants.js';
import type { ElementArray } from './types.js';
import { bfloat16BitsToFloat32, gatherStrided, halfBitsToFloat32, isRowMajor, product, stridedSpan, swapBytesInPlace } from './decode.js';
import type { CallSite, MutableTensorRef } from './globals.js';
import { describe, isPickleGlobal, isTensorRef, qualifiedName } from './globals.js';
import type { OpenTorchCheckpointOptions, StorageRef, TensorData, TensorRef, TensorValues, TorchDtype } from './types.js';
import { unpickle } from './unpickler.js';
import { ZipReader } from './zipReader.js';

/** Typed-array view of a storage's raw elements, before widening halves to float32. */
function rawElements(dtype: TorchDtype, buffer: ArrayBuffer, count: number): ElementArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, 0, count);
    case 'float64':
      return new Float64Array(buffer, 0, count);
    case 'int64':
      return new BigInt64Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, count);
  }
}

function widen(dtype: TorchDtype, values: ElementArray): TensorValues {
  switch (dtype) {
    case 'float16':
      return halfBitsToFloat32(values as Uint16Array);
    case 'bfloat16':
      return bfloat16BitsToFloat32(values as Uint16Array);
    case 'float64':
      return new Float32Array(values as Float64Array);
    default:
      return values as TensorValues;
  }
}

function sameElementKind(values: ElementArray, count: number): ElementArray {
  const ctor = values.constructor as new (n: number) => ElementArray;
  return new ctor(count);
}

/** Walks the unpickled tree and names each tensor by its dotted path (first occurrence wins). */
function nameTensors(root: unknown): void {
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (isTensorRef(value)) {
      if (value.name === '') (value as MutableTensorRef).name = path;
      return;
    }
    const join = (key: unknown): string => (path === '' ? String(key) : `${path}.${String(key)}`);
    if (value instanceof Map) for (const [k, v] of value) visit(v, join(k));
    else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        visit(v, join(i));
      });
    } else if ((value as { kind?: unknown }).kind === 'object') {
      const obj = value as { args: unknown; state: unknown; dictItems?: unknown; listItems?: unknown };
      visit(obj.state, path);
      visit(obj.dictItems, path);
      visit(obj.listItems, path);
      visit(obj.args, path);
    }
  };
  visit(root, '');
}

async function checkZipMagic(path: string): Promise<void> {
  let file: FileHandle;
  try {
    file = await openFile(path, 'r');
  } catch (cause) {
    throw new CheckpointError(`cannot open checkpoint ${path}: ${(cause as Error).message}`, path, { cause });
  }
  const head = new Uint8Array(4);
  let bytesRead: number;
  try {
    ({ bytesRead } = await file.read(head, 0, 4, 0));
  } finally {
    await file.close();
  }
  if (bytesRead === 4 && new DataView(head.buffer).getUint32(0, true) === ZIP_LOCAL_HEADER_MAGIC) return;
  if (bytesRead === 0) throw new CheckpointError(`${path} is empty, expected a torch zip checkpoint`, path);
  if (head[0] === 0x80) {
    throw new CheckpointError(
      `${path} is a legacy (pre-1.6, non-zip) torch checkpoint, which is not supported: re-save it with torch.save(obj, path) from torch >= 1.6`,
      path,
    );
  }
  throw new CheckpointError(`${path} is not a torch zip checkpoint (no zip signature at the start)`, path);
}

/** Resolves `('storage', storage_type, key, location, numel)` to a StorageRef, one per key. */
function storageFor(pid: unknown, storages: Map<string, StorageRef>, zip: ZipReader, archiveName: string, site: CallSite): StorageRef {
  const entries = zip.entries;
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    return site.fail(`expected a persistent id ('storage', type, key, location, numel), got ${describe(pid)}`);
  }
  const [, storageType, key, location, numel] = pid;
  if (!isPickleGlobal(storageType)) return site.fail(`expected a storage type, got ${describe(storageType)}`);
  const dtype = TORCH_STORAGE_DTYPES[storageType.name];
  if (storageType.module !== 'torch' || dtype === undefined) {
    return site.fail(`unsupported storage type ${qualifiedName(storageType)} (supported: ${Object.keys(TORCH_STORAGE_DTYPES).join(', ')})`);
  }
  if (typeof key !== 'string') return site.fail(`expected a storage key string, got ${describe(key)}`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0)
    return site.fail(`expected a storage element count, got ${describe(numel)}`);
  const existing = storages.get(key);
  if (existing) return existing;
  const entry = entries.get(`${archiveName}/data/${key}`);
  if (!entry) return site.fail(`storage ${key} has no entry ${archiveName}/data/${key} in the archive`);
  // a storage the file cannot back is refused now, before any tensor is read
  zip.checkEntrySize(entry);
  const bytes = numel * TORCH_DTYPE_SIZE[dtype];
  if (entry.uncompressedSize < bytes)
    return site.fail(`storage ${key} holds ${entry.uncompressedSize} bytes, expected ${bytes} (${numel} x ${dtype})`);
  const storage: StorageRef = { kind: 'storage', key, dtype, numel, location: typeof location === 'string' ? location : String(location) };
  storages.set(key, storage);
  return storage;
}

/** An open torch zip checkpoint. Call `close()` when done. */
export class TorchCheckpoint {
  /** The unpickled object: Maps, arrays and primitives, with `TensorRef`s in place of tensors. */
  readonly root: unknown;
  readonly path: string;
  /** Top-level folder of the archive (torch uses the file's stem, or `archive`). */
  readonly archiveName: string;
  /** Byte order of the storages, from `<archive>/byteorder` (little when absent, as torch assumes). */
  readonly byteOrder: 'little' | 'big';
  /** Most bytes a single `readTensor` may return. */
  readonly maxTensorBytes: number;
  /** Most tensor bytes all reads together may return (see `OpenTorchCheckpointOptions.budgetBytes`). */
  readonly budgetBytes: number;
  private readonly zip: ZipReader;
  private bytesReturned = 0;
  /** Views already charged to the budget: reading one again (weights streamed pass after pass) costs nothing more. */
  private readonly charged = new Set<string>();

  private constructor(init: {
    path: string;
    zip: ZipReader;
    archiveName: string;
    byteOrder: 'little' | 'big';
    root: unknown;
    maxTensorBytes: number;
    budgetBytes: number;
  }) {
    this.path = init.path;
    this.zip = init.zip;
    this.maxTensorBytes = init.maxTensorBytes;
    this.budgetBytes = init.budgetBytes;
    this.archiveName = init.archiveName;
    this.byteOrder = init.byteOrder;
    this.root = init.root;
  }

  /** Opens `path`, reads the central directory and unpickles `data.pkl` (no tensor data is read). */
  static async open(path: string, options: OpenTorchCheckpointOptions = {}): Promise<TorchCheckpoint> {
    const maxPickleBytes = options.maxPickleBytes ?? DEFAULT_MAX_PICKLE_BYTES;
    await checkZipMagic(path);
    const zip = await ZipReader.open(path);
    try {
      const pickles = [...zip.entries].filter(([name]) => /^[^/]+\/data\.pkl$/.test(name));
      const [pickle] = pickles;
      if (pickles.length !== 1 || pickle === undefined) {
        const found = pickles.length === 0 ? 'no <archive>/data.pkl' : `several data.pkl (${pickles.map(([name]) => name).join(', ')})`;
        throw new CheckpointError(`${path} is not a torch.save checkpoint: expected one <archive>/data.pkl, found ${found}`, path);
      }
      const [pickleName, pickleEntry] = pickle;
      const archiveName = pickleName.slice(0, -'/data.pkl'.length);
      let byteOrder: 'little' | 'big' = 'little';
      const byteOrderEntry = zip.entries.get(`${archiveName}/byteorder`);
      if (byteOrderEntry) {
        const text = new TextDecoder().decode(await zip.read(byteOrderEntry, 0, Math.min(byteOrderEntry.uncompressedSize, 16))).trim();
        if (text !== 'little' && text !== 'big')
          throw new CheckpointError(`${path}: ${archiveName}/byteorder says ${JSON.stringify(text)}, expected "little" or "big"`, path);
        byteOrder = text;
      }
      if (pickleEntry.uncompressedSize > maxPickleBytes) {
        throw new CheckpointError(
          `${path}: ${pickleName} is ${pickleEntry.uncompressedSize} bytes, more than the ${maxPickleBytes} allowed`,
          path,
        );
      }
      const storages = new Map<string, StorageRef>();
      const root = unpickle(await zip.read(pickleEntry), {
        source: `${basename(path)}:${pickleName}`,
        path,
        persistentLoad: (pid, site) => storageFor(pid, storages, zip, archiveName, site),
      });
      nameTensors(root);
      const budgetBytes = options.budgetBytes ?? Math.max(DEFAULT_BUDGET_FILE_FACTOR * zip.fileSize, DEFAULT_BUDGET_FLOOR_BYTES);
      const maxTensorBytes = Math.min(options.maxTensorBytes ?? MAX_TENSOR_BYTES, MAX_TENSOR_BYTES);
      return new TorchCheckpoint({ path, zip, archiveName, byteOrder, root, maxTensorBytes, budgetBytes });
    } catch (error) {
      await zip.close();
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(`cannot read checkpoint ${path}: ${(error as Error).message}`, path, { cause: error });
    }
  }

  /**
   * Reads a tensor's values, contiguous and row-major. Floating types come back as
   * Float32Array (half, bfloat16 and double converted), integers in their own width.
   */
  async readTensor(ref: TensorRef): Promise<TensorData> {
    const { storage, dtype, shape, stride, storageOffset } = ref;
    const count = product(shape);
    const elementSize = TORCH_DTYPE_SIZE[dtype];
    const span = stridedSpan(shape, stride);
    if (span === null) return { name: ref.name, dtype, shape: [...shape], data: widen(dtype, rawElements(dtype, new ArrayBuffer(0), 0)) };
    const first = storageOffset + span.low;
    const last = storageOffset + span.high;
    if (first < 0 || last >= storage.numel) {
      throw new CheckpointError(
        `${this.path}: tensor ${ref.name} (shape ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)}, offset ${storageOffset}) reaches elements ${first}..${last} of storage ${storage.key}, which has ${storage.numel}`,
        this.path,
      );
    }
    const spanCount = last - first + 1;
    // Checked before anything is read or allocated: a view (e.g. stride 0) can describe far more
    // values than its storage holds, so a small file could otherwise cost gigabytes.
    const bytes = count * elementSize;
    if (bytes > this.maxTensorBytes) {
      throw new CheckpointError(
        `${this.path}: tensor ${ref.name} has ${count} elements (shape ${JSON.stringify(shape)}, ${bytes} bytes), more than the ${this.maxTensorBytes} bytes one tensor may take`,
        this.path,
      );
    }
    // The budget bounds how much distinct data a file can make us read; the same view read again
    // returns the same bytes, so a file cannot amplify through it.
    const view = `${storage.key}|${dtype}|${storageOffset}|${shape.join(',')}|${stride.join(',')}`;
    const counted = this.charged.has(view);
    if (!counted && this.bytesReturned + bytes > this.budgetBytes) {
      throw new CheckpointError(
        `${this.path}: tensor ${ref.name} (shape ${JSON.stringify(shape)}, ${bytes} bytes) would take the tensors read from this ${this.zip.fileSize}-byte file to ${this.bytesReturned + bytes} bytes, more than its budget of ${this.budgetBytes}`,
        this.path,
      );
    }
    if (!counted) {
      this.charged.add(view);
      this.bytesReturned += bytes;
    }
    const entry = this.zip.entries.get(`${this.archiveName}/data/${storage.key}`);
    if (!entry)
      throw new CheckpointError(
        `${this.path}: tensor ${ref.name} refers to storage ${storage.key}, which this archive does not have`,
        this.path,
      );
    const raw = await this.zip.read(entry, first * elementSize, (last + 1) * elementSize);
    if (this.byteOrder === 'big') swapBytesInPlace(raw, elementSize);
    const source = rawElements(dtype, raw.buffer as ArrayBuffer, spanCount);
    const contiguous = spanCount === count && isRowMajor(shape, stride);
    const values = contiguous ? source : gatherStrided(source, -span.low, shape, stride, sameElementKind(source, count));
    return { name: ref.name, dtype, shape: [...shape], data: widen(dtype, values) };
  }

  /**
   * The model weights: the first of `candidateKeys` under the root that holds a tensor dict,
   * else the root itself when it is one. Keys lose a DataParallel `module.` prefix; refs are
   * renamed to their (stripped) key.
   */
  findStateDict(candidateKeys: readonly string[] = DEFAULT_STATE_DICT_KEYS): Map<string, TensorRef> {
    const isTensorDict = (value: unknown): value is Map<string, TensorRef> =>
      value instanceof Map && value.size > 0 && [...value].every(([k, v]) => typeof k === 'string' && isTensorRef(v));
    let dict: Map<string, TensorRef> | undefined;
    if (this.root instanceof Map) {
      for (const key of candidateKeys) {
        const candidate = this.root.get(key);
        if (isTensorDict(candidate)) {
          dict = candidate;
          break;
        }
      }
      if (!dict && isTensorDict(this.root)) dict = this.root;
    }
    if (!dict) {
      const keys = this.root instanceof Map ? [...this.root.keys()].map(String).slice(0, 20).join(', ') : describe(this.root);
      throw new CheckpointError(
        `${this.path}: no state dict found: expected a dict of tensors under ${candidateKeys.map((k) => `'${k}'`).join(', ')} or at the root; the root holds ${keys}`,
        this.path,
      );
    }
    const out = new Map<string, TensorRef>();
    for (const [key, ref] of dict) {
      const name = key.startsWith(DATA_PARALLEL_PREFIX) ? key.slice(DATA_PARALLEL_PREFIX.length) : key;
      if (out.has(name))
        throw new CheckpointError(`${this.path}: state dict has both ${name} and ${DATA_PARALLEL_PREFIX}${name}`, this.path);
      out.set(name, { ...ref, name });
    }
    return out;
  }

  /** Reads every tensor of `findStateDict(candidateKeys)`, one at a time, in key order. */
  async readStateDict(candidateKeys: readonly string[] = DEFAULT_STATE_DICT_KEYS): Promise<Map<string, TensorData>> {
    const out = new Map<string, TensorData>();
    for (const [name, ref] of this.findStateDict(candidateKeys)) out.set(name, await this.readTensor(ref));
    return out;
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

/** Opens a torch zip checkpoint; see `TorchCheckpoint`. */
export function openTorchCheckpoint(path: string, options?: OpenTorchCheckpointOptions): Promise<TorchCheckpoint> {
  return TorchCheckpoint.open(path, options);
}
