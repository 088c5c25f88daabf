import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import { ARTIFACT_RECORD_FILE, reportIdentity, trainingRunIdentity } from '../pipeline/catalogue.js';
import { checkArtifact, ensureArtifact, failArtifact, listFolderFiles, produceArtifact, readArtifactRecord } from './produce-artifact.js';
import { itemBytes, itemClip, itemIdentity } from './test-support/items.js';
import { writeFileAtomic } from './write-file-atomic.js';
import type { ProducePhase } from './types.js';

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tempFilesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.tmp')) : [];
}

// The crash, kill and concurrency tests, for every kind of the catalogue, are in produce-artifact.crash.test.ts.
describe('produceArtifact', () => {
  let dir: string;
  let manifestPath: string;
  let outDir: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-produce-'));
    manifestPath = path.join(dir, 'manifest.sqlite');
    outDir = path.join(dir, 'out');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records done with the file size and hash, and a rerun skips it', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      await store.clips.upsertClip(itemClip(1));
      const identity = itemIdentity(1);
      const plan = { cacheKey: 'k1', path: path.join(outDir, 'one.bin') };
      const phases: ProducePhase[] = [];
      const content = new TextEncoder().encode('hello manifest');
      const first = await produceArtifact(
        store,
        identity,
        plan,
        async (tmp) => {
          expect(path.dirname(tmp)).toBe(outDir);
          expect(path.basename(tmp)).toMatch(new RegExp(`^one\\.bin\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
          await writeFile(tmp, content);
        },
        { onPhase: (phase) => phases.push(phase) },
      );
      expect(phases).toEqual(['claimed', 'written', 'synced', 'renamed', 'recorded']);
      expect(first).toEqual({ outcome: 'produced', path: plan.path, bytes: content.length, contentHash: sha256(content) });
      const row = await store.artifacts.getArtifact(identity);
      expect(row?.status).toBe('done');
      expect(row?.claimToken).toBeNull();
      expect(row?.bytes).toBe(content.length);
      expect(row?.contentHash).toBe(sha256(content));
      expect(tempFilesIn(outDir)).toEqual([]);
      const again = await ensureArtifact(store, identity, plan, async () => {
        throw new Error('must not be called');
      });
      expect(again).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    } finally {
      await store.close();
    }
  });

  it('records a failing writer as failed with its error, removes its temp file and rethrows', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      await store.clips.upsertClip(itemClip(2));
      const identity = itemIdentity(2);
      const plan = { cacheKey: 'k1', path: path.join(outDir, 'bad.bin') };
      await expect(
        produceArtifact(store, identity, plan, async (tmp) => {
          await writeFile(tmp, 'partial');
          throw new Error('decoder exploded', { cause: new Error('EOF at frame 3') });
        }),
      ).rejects.toThrow('decoder exploded');
      const row = await store.artifacts.getArtifact(identity);
      expect(row?.status).toBe('failed');
      expect(row?.error).toBe('Error: decoder exploded <- caused by Error: EOF at frame 3');
      expect(row?.claimToken).toBeNull();
      expect(tempFilesIn(outDir)).toEqual([]);
      expect(existsSync(plan.path)).toBe(false);
      expect((await checkArtifact(store, identity, plan, { verify: 'hash' })).reason).toBe('failed');
    } finally {
      await store.close();
    }
  });

  it('writes a folder artifact, records its record file last, and remakes it when a listed file is gone or resized', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      const identity = reportIdentity('demo', 'reports/latest');
      const folder = path.join(outDir, 'report');
      const plan = { cacheKey: 'k1', path: folder, params: { mu: 0.5 } };
      let writes = 0;
      const writer = {
        writeFolder: async (dir: string) => {
          writes++;
          expect(dir).toBe(folder);
          // the record of the previous make is gone before any file is rewritten
          expect(existsSync(path.join(dir, ARTIFACT_RECORD_FILE))).toBe(false);
          await writeFileAtomic(path.join(dir, 'metrics.json'), `{"war":${writes}}`);
          await writeFileAtomic(path.join(dir, 'charts', 'mu.png'), 'png bytes');
          // left in the folder but not named by the writer: not part of the artifact
          await writeFile(path.join(dir, 'notes.txt'), 'scratch');
          return { files: ['metrics.json', path.join(dir, 'charts', 'mu.png')] };
        },
      };
      const phases: ProducePhase[] = [];
      const first = await ensureArtifact(store, identity, plan, writer, { onPhase: (phase) => phases.push(phase) });
      expect(phases).toEqual(['claimed', 'written', 'synced', 'renamed', 'recorded']);
      const recordPath = path.join(folder, ARTIFACT_RECORD_FILE);
      const recordBytes = readFileSync(recordPath);
      expect(first).toEqual({ outcome: 'produced', path: recordPath, bytes: recordBytes.length, contentHash: sha256(recordBytes) });
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({
        status: 'done',
        path: recordPath,
        bytes: recordBytes.length,
        contentHash: sha256(recordBytes),
      });
      expect(await readArtifactRecord(recordPath)).toEqual({
        format: 'pthnet-artifact-record',
        version: 1,
        artifact: 'eval/report demo reports/latest',
        cacheKey: 'k1',
        files: [
          { path: 'charts/mu.png', bytes: 9, sha256: sha256('png bytes') },
          { path: 'metrics.json', bytes: 9, sha256: sha256('{"war":1}') },
        ],
      });
      expect(tempFilesIn(folder)).toEqual([]);
      expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
      expect(writes).toBe(1);

      // A listed file deleted: the artifact is no longer whole, so it is made again.
      unlinkSync(path.join(folder, 'charts', 'mu.png'));
      const stale: ProducePhase[] = [];
      expect(await ensureArtifact(store, identity, plan, writer, { onPhase: (phase) => stale.push(phase) })).toMatchObject({
        outcome: 'produced',
      });
      expect(writes).toBe(2);
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'done', attempts: 2 });
      // A listed file resized: made again too. An unlisted file changing is no concern of the artifact.
      writeFileSync(path.join(folder, 'notes.txt'), 'other scratch');
      expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
      writeFileSync(path.join(folder, 'metrics.json'), '{"war":100}');
      expect(await ensureArtifact(store, identity, plan, writer)).toMatchObject({ outcome: 'produced' });
      expect(writes).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('refuses a folder writer naming a file outside its folder, and records the failure', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      const identity = reportIdentity('demo', 'reports/escape');
      const plan = { cacheKey: 'k1', path: path.join(outDir, 'escape') };
      await expect(
        produceArtifact(store, identity, plan, {
          writeFolder: async () => {
            await writeFileAtomic(path.join(outDir, 'elsewhere.txt'), 'x');
            return { files: ['../elsewhere.txt'] };
          },
        }),
      ).rejects.toThrow(`eval/report demo reports/escape: expected the files of ${path.join(outDir, 'escape')}, got ../elsewhere.txt`);
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'failed', claimToken: null });
      expect(tempFilesIn(path.join(outDir, 'escape'))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('gives the claim back when a folder writer stops early on purpose, leaving the item pending for the next run', async () => {
    const store = await ManifestStore.open(manifestPath);
    const other = await ManifestStore.open(manifestPath);
    try {
      const identity = trainingRunIdentity('demo', { direction: 'forward', source: 'raw' });
      const plan = { cacheKey: 'k1', path: path.join(outDir, 'runs', 'raw_forward') };
      const result = await produceArtifact(store, identity, plan, {
        writeFolder: async (folder) => {
          await writeFileAtomic(path.join(folder, 'last.safetensors'), 'epoch 1');
          return 'abandoned';
        },
      });
      expect(result).toEqual({ outcome: 'abandoned' });
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null, claimPid: null });
      expect(existsSync(path.join(plan.path, ARTIFACT_RECORD_FILE))).toBe(false);
      // another process need not wait for a lease: it takes the item over at once and finishes it
      const resumed = await ensureArtifact(other, identity, plan, {
        writeFolder: async (folder) => {
          expect(readFileSync(path.join(folder, 'last.safetensors'), 'utf8')).toBe('epoch 1');
          await writeFileAtomic(path.join(folder, 'best.safetensors'), 'epoch 2');
          return { files: await listFolderFiles(folder) };
        },
      });
      expect(resumed).toMatchObject({ outcome: 'produced' });
      expect((await readArtifactRecord(path.join(plan.path, ARTIFACT_RECORD_FILE))).files.map((f) => f.path)).toEqual([
        'best.safetensors',
        'last.safetensors',
      ]);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('registers an existing file without writing it: claim, check, record; a missing or changed file fails', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      await store.clips.upsertClips([itemClip(3), itemClip(4), itemClip(5)]);
      const file = path.join(outDir, 'imported', 'clip-003.npy');
      await writeFileAtomic(file, itemBytes(3));
      const before = statSync(file).mtimeMs;
      const phases: ProducePhase[] = [];
      const plan = { cacheKey: 'k1', path: file, params: { imported: true } };
      const registered = await ensureArtifact(store, itemIdentity(3), plan, { register: {} }, { onPhase: (phase) => phases.push(phase) });
      expect(phases).toEqual(['claimed', 'verified', 'recorded']);
      expect(registered).toEqual({ outcome: 'produced', path: file, bytes: itemBytes(3).length, contentHash: sha256(itemBytes(3)) });
      expect(statSync(file).mtimeMs).toBe(before);
      expect(readdirSync(path.dirname(file))).toEqual(['clip-003.npy']);
      expect(await ensureArtifact(store, itemIdentity(3), plan, { register: {} }, { verify: 'size' })).toEqual({
        outcome: 'skipped',
        reason: 'up-to-date',
      });
      // a hash the caller already has is recorded as given (import-features hashes for the cache key)
      const given = await produceArtifact(
        store,
        itemIdentity(4),
        { cacheKey: 'k1', path: file.replace('003', '004') },
        { register: {} },
      ).catch((error: Error) => error.message);
      expect(given).toBe(`register ${file.replace('003', '004')}: expected an existing file, got none`);
      expect(await store.artifacts.getArtifact(itemIdentity(4))).toMatchObject({ status: 'failed' });
      await writeFileAtomic(file.replace('003', '005'), 'abc');
      await expect(
        produceArtifact(store, itemIdentity(5), { cacheKey: 'k', path: file.replace('003', '005') }, { register: { bytes: 4 } }),
      ).rejects.toThrow('expected 4 bytes, got 3');
      expect(
        await produceArtifact(
          store,
          itemIdentity(5),
          { cacheKey: 'k', path: file.replace('003', '005') },
          { register: { bytes: 3, contentHash: 'known' } },
        ),
      ).toMatchObject({ outcome: 'produced', contentHash: 'known' });
    } finally {
      await store.close();
    }
  });

  it('checks the maker against the layout of the kind in the catalogue, before claiming anything', async () => {
    const store = await ManifestStore.open(manifestPath);
    try {
      await store.clips.upsertClip(itemClip(6));
      const report = reportIdentity('demo', 'reports/x');
      await expect(produceArtifact(store, report, { cacheKey: 'k', path: path.join(outDir, 'x') }, async () => undefined)).rejects.toThrow(
        'eval/report demo reports/x: expected a maker for the folder layout of report (see the artifact catalogue), got file',
      );
      await expect(
        produceArtifact(
          store,
          itemIdentity(6),
          { cacheKey: 'k', path: path.join(outDir, 'f') },
          { writeFolder: async () => ({ files: [] }) },
        ),
      ).rejects.toThrow('expected a maker for the file layout of features (see the artifact catalogue), got folder');
      expect(await store.artifacts.listArtifacts()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('records an item that could not be made as failed, unless another process holds it', async () => {
    const store = await ManifestStore.open(manifestPath);
    const other = await ManifestStore.open(manifestPath);
    try {
      await store.clips.upsertClips([itemClip(7), itemClip(8)]);
      const plan = { cacheKey: 'k', path: path.join(outDir, 'f7') };
      expect(await failArtifact(store, itemIdentity(7), plan, new Error('moov atom not found'), { runId: undefined })).toBe(true);
      expect(await store.artifacts.getArtifact(itemIdentity(7))).toMatchObject({ status: 'failed', error: 'Error: moov atom not found' });
      expect(await other.artifacts.claim(itemIdentity(8), { cacheKey: 'k', path: path.join(outDir, 'f8') })).not.toBeNull();
      expect(await failArtifact(store, itemIdentity(8), { cacheKey: 'k', path: path.join(outDir, 'f8') }, new Error('x'))).toBe(false);
      expect(await store.artifacts.getArtifact(itemIdentity(8))).toMatchObject({ status: 'pending' });
    } finally {
      await other.close();
      await store.close();
    }
  });
});
