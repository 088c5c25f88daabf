/**
 * Crafted checkpoints: each must be refused (or read) with a named CheckpointError and bounded
 * memory. Every file is generated here. Peak memory is measured in a child process that loads
 * one file; the bound is the peak of loading the legitimate tiny PTH-Net checkpoint plus 64 MiB,
 * far below what any of these files would cost if its declared sizes were believed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPthNetCheckpoint } from './pthnet/pthnetCheckpoint.js';
import { openTorchCheckpoint } from './torch/torchCheckpoint.js';
import type { Py, ZipInput } from './torch/testing.js';
import { buildTorchZip, buildZip, fixturesDir, readZipEntries, torchTensor } from './torch/testing.js';

const TINY_PTH = fixturesDir('pthnet', 'tiny', 'checkpoint_init.pth');
const CHILD = join(import.meta.dirname, 'test-support', 'load-child.ts');
const SLACK_BYTES = 64 * 1024 ** 2;
const MiB = 1024 ** 2;

interface ChildResult {
  ok: boolean;
  error?: string;
  message?: string;
  maxRssBytes: number;
}

function load(mode: 'pthnet' | 'torch-state-dict' | 'safetensors', file: string): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, mode, file], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`load-child ${mode} ${file} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(line) as ChildResult;
}

const dir = mkdtempSync(join(tmpdir(), 'pthnet-hostile-ckpt-'));
function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

let legitPeak: number;
let tinyEntries: ZipInput[];
/** The first storage entry of the fixture, which the hostile variants tamper with. */
let storageName: string;

beforeAll(async () => {
  const legit = load('pthnet', TINY_PTH);
  expect(legit).toMatchObject({ ok: true });
  legitPeak = legit.maxRssBytes;
  tinyEntries = await readZipEntries(TINY_PTH);
  const storage = tinyEntries.find((e) => /\/data\/[^/]+$/.test(e.name));
  if (storage === undefined) throw new Error(`${TINY_PTH}: no storage entry`);
  storageName = storage.name;
});

/** The fixture re-zipped with one storage entry replaced. */
function tamperedTiny(replacement: Partial<ZipInput>, options: { zip64?: boolean } = {}): Uint8Array {
  return buildZip(
    tinyEntries.map((e) => (e.name === storageName ? { ...e, ...replacement } : e)),
    options,
  );
}

describe('hostile torch checkpoints', () => {
  it('reads only the needed prefix of a deflated storage that inflates to 256 MiB (same weights, bounded memory)', async () => {
    const original = tinyEntries.find((e) => e.name === storageName)?.data ?? new Uint8Array();
    const bomb = new Uint8Array(256 * MiB);
    bomb.set(original, 0);
    const file = writeTemp('deflate-bomb.pth', tamperedTiny({ data: bomb, method: 8 }));
    const child = load('pthnet', file);
    expect(child).toMatchObject({ ok: true });
    expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
    const [tampered, legit] = await Promise.all([loadPthNetCheckpoint(file), loadPthNetCheckpoint(TINY_PTH)]);
    for (const [key, tensor] of legit.stateDict) expect(tampered.stateDict.get(key)?.data).toEqual(tensor.data);
  });

  it('refuses a stored storage declaring 2^40 bytes at open, naming the file', async () => {
    const file = writeTemp('declares-2e40-stored.pth', tamperedTiny({ declaredSize: 2 ** 40 }, { zip64: true }));
    const child = load('pthnet', file);
    expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
    // yauzl refuses it while listing the central directory, which does not say which entry it was on
    expect(child.message).toBe(
      `${file}: corrupt zip central directory: compressed/uncompressed size mismatch for stored file: 18432 != 1099511627776`,
    );
    expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
    await expect(loadPthNetCheckpoint(file)).rejects.toBeInstanceOf(CheckpointError);
  });

  it('refuses a deflated storage declaring 2^40 bytes, more than deflate can expand to', () => {
    const file = writeTemp('declares-2e40-deflated.pth', tamperedTiny({ method: 8, declaredSize: 2 ** 40 }, { zip64: true }));
    const child = load('pthnet', file);
    expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
    expect(child.message).toContain(`${file}: entry ${storageName} declares 1099511627776 bytes from`);
    expect(child.message).toContain('more than deflate can expand to');
    expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
  });

  describe('a stride-0 view of one float as a [16384, 16384] tensor (1 GiB from a few hundred bytes)', () => {
    let file: string;
    beforeAll(() => {
      const root: Py = { dict: [['w', torchTensor({ type: 'FloatStorage', key: '0', numel: 1 }, 0, [16384, 16384], [0, 0])]] };
      file = writeTemp('stride0.pth', buildTorchZip('archive', root, { '0': new Uint8Array(4) }));
    });

    it('is refused by the reader budget before anything is allocated, naming the file and the tensor', async () => {
      const child = load('torch-state-dict', file);
      expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
      expect(child.message).toContain(`${file}: tensor w (shape [16384,16384], 1073741824 bytes) would take`);
      expect(child.message).toContain('more than its budget of 268435456');
      expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
      const checkpoint = await openTorchCheckpoint(file);
      try {
        await expect(checkpoint.readStateDict()).rejects.toBeInstanceOf(CheckpointError);
      } finally {
        await checkpoint.close();
      }
    });

    it('is refused by the PTH-Net loader on its shape, before any tensor is read', () => {
      const child = load('pthnet', file);
      expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
      expect(child.message).toContain(file);
      expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
    });
  });
});

describe('hostile safetensors', () => {
  let file: string;
  const tensorBytes = 5 * 1024 ** 3;
  beforeAll(() => {
    // A valid file whose one tensor is 5 GiB: sparse on disk, so it costs nothing to make.
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [tensorBytes / 4], data_offsets: [0, tensorBytes] } });
    const padded = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
    const header = Buffer.alloc(8 + padded.length);
    header.writeBigUInt64LE(BigInt(padded.length), 0);
    header.write(padded, 8, 'utf8');
    file = join(dir, 'five-gib.safetensors');
    writeFileSync(file, header);
    truncateSync(file, header.length + tensorBytes);
  });

  it('refuses to read a 5 GiB tensor, naming the file and the tensor', () => {
    const child = load('safetensors', file);
    expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
    expect(child.message).toBe(
      `${file}: tensor w (F32 [1342177280]) is 5368709120 bytes, more than the 4294967296 bytes one tensor may take`,
    );
    expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
  });

  it('is refused by the PTH-Net loader on its header shapes, before any tensor is read', async () => {
    const child = load('pthnet', file);
    expect(child).toMatchObject({ ok: false, error: 'CheckpointError' });
    expect(child.message).toContain(file);
    expect(child.maxRssBytes).toBeLessThan(legitPeak + SLACK_BYTES);
    await expect(loadPthNetCheckpoint(file)).rejects.toBeInstanceOf(CheckpointError);
  });
});
