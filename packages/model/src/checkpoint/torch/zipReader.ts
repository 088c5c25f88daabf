/**
 * Random access to the entries of a zip file: yauzl reads the central directory (zip64
 * included) and each entry's local header, which gives where its data starts; stored
 * entries are then read with positioned reads of just the bytes asked for.
 */
import type { FileHandle } from 'node:fs/promises';
import { open as openFile } from 'node:fs/promises';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { CheckpointError } from 'shared';

/** Largest single read: Linux caps one read(2) just under 2 GiB. */
const MAX_READ_CHUNK = 1 << 30;

/**
 * Deflate cannot expand data by more than about 1032:1 (258-byte matches coded in under 2 bits);
 * an entry that declares more than this over its compressed size is lying about its size, and is
 * refused before anything is allocated for it.
 */
const MAX_DEFLATE_RATIO = 1032;
const DEFLATE_SLACK_BYTES = 1024;

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) reject(err ?? new Error('yauzl returned no zip file'));
      else resolve(zip);
    });
  });
}

function listEntries(zip: ZipFile): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, Entry>();
    zip.on('entry', (entry: Entry) => {
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

export class ZipReader {
  readonly path: string;
  /** Every entry by name. */
  readonly entries: ReadonlyMap<string, Entry>;
  /** Size of the file on disk: no entry can hold more stored bytes than this. */
  readonly fileSize: number;
  private readonly zip: ZipFile;
  private readonly file: FileHandle;
  private readonly dataStarts = new Map<string, Promise<number>>();
  private closed = false;

  private constructor(path: string, zip: ZipFile, file: FileHandle, entries: Map<string, Entry>, fileSize: number) {
    this.path = path;
    this.fileSize = fileSize;
    this.zip = zip;
    this.file = file;
    this.entries = entries;
  }

  /** Opens `path` and reads its central directory (no entry data is read). */
  static async open(path: string): Promise<ZipReader> {
    let file: FileHandle;
    try {
      file = await openFile(path, 'r');
    } catch (cause) {
      throw new CheckpointError(`cannot open ${path}: ${(cause as Error).message}`, path, { cause });
    }
    let zip: ZipFile;
    try {
      zip = await openZip(path);
    } catch (cause) {
      await file.close();
      throw new CheckpointError(`${path} is not a readable zip archive (truncated or corrupt?): ${(cause as Error).message}`, path, {
        cause,
      });
    }
    try {
      return new ZipReader(path, zip, file, await listEntries(zip), (await file.stat()).size);
    } catch (cause) {
      zip.close();
      await file.close();
      throw new CheckpointError(`${path}: corrupt zip central directory: ${(cause as Error).message}`, path, { cause });
    }
  }

  /** File offset of an entry's data, from its local header (read once per entry). */
  private dataStart(entry: Entry): Promise<number> {
    let start = this.dataStarts.get(entry.fileName);
    if (!start) {
      start = new Promise<number>((resolve, reject) => {
        this.zip.readLocalFileHeader(entry, { minimal: true }, (err, header) => {
          if (err)
            reject(new CheckpointError(`${this.path}: bad local header for ${entry.fileName}: ${err.message}`, this.path, { cause: err }));
          else resolve(header.fileDataStart);
        });
      });
      this.dataStarts.set(entry.fileName, start);
    }
    return start;
  }

  /** `length` bytes at file offset `position`, in a fresh buffer (so typed-array views are aligned). */
  private async readAt(position: number, length: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(out, done, Math.min(length - done, MAX_READ_CHUNK), position + done);
      if (bytesRead === 0)
        throw new CheckpointError(
          `${this.path} is truncated: ${what} ends at byte ${position + length}, the file at ${position + done}`,
          this.path,
        );
      done += bytesRead;
    }
    return out;
  }

  /**
   * The first `end` bytes of a deflated entry, inflated as a stream into a buffer of exactly
   * `end` bytes: the stream is stopped once they are in, so a small read of a large (or
   * maliciously inflating) entry costs only what it reads.
   */
  private inflate(entry: Entry, end: number): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) {
          reject(
            new CheckpointError(`${this.path}: cannot read ${entry.fileName}: ${err?.message ?? 'no stream'}`, this.path, { cause: err }),
          );
          return;
        }
        const out = new Uint8Array(end);
        let at = 0;
        let done = false;
        stream.on('data', (chunk: Uint8Array) => {
          if (done) return;
          const take = Math.min(chunk.length, end - at);
          out.set(take === chunk.length ? chunk : chunk.subarray(0, take), at);
          at += take;
          if (at === end && end < entry.uncompressedSize) {
            done = true;
            stream.destroy();
            resolve(out);
          }
        });
        stream.once('error', (cause: Error) => {
          if (done) return;
          done = true;
          reject(new CheckpointError(`${this.path}: corrupt entry ${entry.fileName}: ${cause.message}`, this.path, { cause }));
        });
        stream.once('end', () => {
          if (done) return;
          done = true;
          if (at < end)
            reject(new CheckpointError(`${this.path}: entry ${entry.fileName} inflates to ${at} bytes, expected ${end}`, this.path));
          else resolve(out);
        });
      });
    });
  }

  /**
   * Refuses an entry whose declared size the file cannot back, before any memory is set aside
   * for it: a stored entry larger than the file, or a deflated one claiming more than deflate can
   * expand to. A lying header otherwise turns a small file into a huge allocation.
   */
  checkEntrySize(entry: Entry): void {
    if (entry.compressionMethod === 0) {
      if (entry.uncompressedSize !== entry.compressedSize || entry.compressedSize > this.fileSize) {
        throw new CheckpointError(
          `${this.path}: entry ${entry.fileName} declares ${entry.uncompressedSize} stored bytes (${entry.compressedSize} on disk), more than the ${this.fileSize}-byte file can hold`,
          this.path,
        );
      }
    } else if (entry.uncompressedSize > entry.compressedSize * MAX_DEFLATE_RATIO + DEFLATE_SLACK_BYTES) {
      throw new CheckpointError(
        `${this.path}: entry ${entry.fileName} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed, more than deflate can expand to (${MAX_DEFLATE_RATIO}:1)`,
        this.path,
      );
    }
  }

  /**
   * Bytes `[start, end)` of an entry's uncompressed data. Stored entries (what torch.save
   * writes) read only that range; a deflated one is inflated from its start up to `end` only.
   */
  async read(entry: Entry, start = 0, end = entry.uncompressedSize): Promise<Uint8Array> {
    if (this.closed) throw new CheckpointError(`checkpoint ${this.path} is closed`, this.path);
    if (start < 0 || end > entry.uncompressedSize || start > end) {
      throw new CheckpointError(
        `${this.path}: bytes ${start}..${end} are outside ${entry.fileName} (${entry.uncompressedSize} bytes)`,
        this.path,
      );
    }
    this.checkEntrySize(entry);
    if (entry.compressionMethod === 0) {
      const first = (await this.dataStart(entry)) + start;
      if (first + (end - start) > this.fileSize) {
        throw new CheckpointError(
          `${this.path} is truncated: ${entry.fileName} bytes ${start}..${end} end at file byte ${first + (end - start)}, the file at ${this.fileSize}`,
          this.path,
        );
      }
      return this.readAt(first, end - start, entry.fileName);
    }
    const head = await this.inflate(entry, end);
    return start === 0 ? head : head.slice(start, end);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.zip.close();
    await this.file.close();
  }
}
