import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashBytes } from '../cache/hash.js';
import { sql } from 'drizzle-orm';
import { ManifestStore, backendOf } from '../manifest/store.js';
import { ARTIFACT_RECORD_FILE, reportIdentity } from '../pipeline/catalogue.js';
import { checkArtifact, ensureArtifact } from './produce-artifact.js';
import { itemClip, itemIdentity } from './test-support/items.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** A fixed mtime (whole seconds, so that it can be set back exactly) and a later one. */
const T0 = 1_700_000_000;
const T1 = T0 + 60;

/** Rewrites a file in place (same inode) with same-size content, and sets its mtime back. */
function rewriteKeepingStamp(file: string, content: string): void {
  const before = statSync(file, { bigint: true });
  writeFileSync(file, content);
  utimesSync(file, T0, T0);
  const after = statSync(file, { bigint: true });
  expect([after.size, after.ino, after.mtimeNs]).toEqual([before.size, before.ino, before.mtimeNs]);
}

describe('checkArtifact: unchanged by stamp, hashed only when a stamp moved', () => {
  let dir: string;
  let store: ManifestStore;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-stamp-'));
    store = await ManifestStore.open(path.join(dir, 'manifest.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a file artifact: a touch is re-hashed and re-stamped, not remade; a same-stamp rewrite needs verify hash', async () => {
    await store.clips.upsertClip(itemClip(1));
    const identity = itemIdentity(1);
    const file = path.join(dir, 'out', 'one.bin');
    const plan = { cacheKey: 'k1', path: file };
    let writes = 0;
    const writer = async (tmp: string) => {
      writes += 1;
      await writeFile(tmp, 'first content');
      utimesSync(tmp, T0, T0);
    };
    expect(await ensureArtifact(store, identity, plan, writer)).toMatchObject({ outcome: 'produced' });
    const stamp = (await store.artifacts.getArtifact(identity))?.fileStamp;
    const now = statSync(file, { bigint: true });
    expect(stamp).toBe(`${now.size}:${now.mtimeNs}:${now.ino}`);

    // touched: the stamp moved, the hash is the same: skipped, and the new stamp is recorded
    utimesSync(file, T1, T1);
    expect(await checkArtifact(store, identity, plan)).toMatchObject({ decision: 'skip', reason: 'up-to-date' });
    expect(writes).toBe(1);
    const touched = (await store.artifacts.getArtifact(identity))?.fileStamp;
    expect(touched).not.toBe(stamp);
    expect(touched).toBe(`${now.size}:${statSync(file, { bigint: true }).mtimeNs}:${now.ino}`);

    // rewritten with the same size, mtime and inode: the stamp cannot tell, the hash can
    utimesSync(file, T0, T0);
    expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    rewriteKeepingStamp(file, 'other content');
    expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    expect(await ensureArtifact(store, identity, plan, writer, { verify: 'size' })).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    expect(writes).toBe(1);
    expect(await ensureArtifact(store, identity, plan, writer, { verify: 'hash' })).toMatchObject({ outcome: 'produced' });
    expect(writes).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('first content');

    // changed content with a moved stamp is found without verify hash
    writeFileSync(file, 'third content');
    expect(await checkArtifact(store, identity, plan)).toMatchObject({ decision: 'todo', reason: 'hash-mismatch' });
    expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'stale', error: 'hash-mismatch' });
  });

  it('a row from before stamps is hashed once and stamped, then checked by stamp', async () => {
    await store.clips.upsertClip(itemClip(2));
    const identity = itemIdentity(2);
    const plan = { cacheKey: 'k2', path: path.join(dir, 'out', 'two.bin') };
    await ensureArtifact(store, identity, plan, async (tmp) => writeFile(tmp, 'two'));
    // as migration 0004 leaves the rows it finds
    await backendOf(store).rows(sql`UPDATE artifacts SET file_stamp = NULL`);
    expect((await store.artifacts.getArtifact(identity))?.fileStamp).toBeNull();
    expect(await checkArtifact(store, identity, plan)).toMatchObject({ decision: 'skip' });
    const stats = statSync(plan.path, { bigint: true });
    expect((await store.artifacts.getArtifact(identity))?.fileStamp).toBe(`${stats.size}:${stats.mtimeNs}:${stats.ino}`);
  });

  it('a folder artifact: its record and every listed file by stamp; a touched file re-stamped, a changed one remade', async () => {
    const identity = reportIdentity('demo', 'reports/latest');
    const folder = path.join(dir, 'reports', 'latest');
    const plan = { cacheKey: 'k1', path: folder };
    let writes = 0;
    const writer = {
      writeFolder: async (into: string) => {
        writes += 1;
        await writeFileAtomic(path.join(into, 'metrics.json'), '{"war":1}');
        await writeFileAtomic(path.join(into, 'report.md'), '# report');
        return { files: ['metrics.json', 'report.md'] };
      },
    };
    expect(await ensureArtifact(store, identity, plan, writer)).toMatchObject({ outcome: 'produced' });
    const row = await store.artifacts.getArtifact(identity);
    const stampOf = (file: string) => {
      const s = statSync(path.join(folder, file), { bigint: true });
      return `${s.size}:${s.mtimeNs}:${s.ino}`;
    };
    expect(JSON.parse(row?.fileStamp ?? '')).toEqual({
      record: stampOf(ARTIFACT_RECORD_FILE),
      files: { 'metrics.json': stampOf('metrics.json'), 'report.md': stampOf('report.md') },
    });

    // a listed file touched: hashed, found the same, its new stamp recorded; not remade
    utimesSync(path.join(folder, 'report.md'), T1, T1);
    expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    expect(JSON.parse((await store.artifacts.getArtifact(identity))?.fileStamp ?? '').files['report.md']).toBe(stampOf('report.md'));
    expect(writes).toBe(1);

    // a listed file rewritten with the same size and stamp: only verify hash notices
    utimesSync(path.join(folder, 'metrics.json'), T0, T0);
    await checkArtifact(store, identity, plan); // records the stamp with mtime T0
    rewriteKeepingStamp(path.join(folder, 'metrics.json'), '{"war":9}');
    expect(await ensureArtifact(store, identity, plan, writer)).toEqual({ outcome: 'skipped', reason: 'up-to-date' });
    expect(writes).toBe(1);
    expect(await checkArtifact(store, identity, plan, { verify: 'hash' })).toMatchObject({
      decision: 'todo',
      reason: 'hash-mismatch',
    });
    expect((await store.artifacts.getArtifact(identity))?.error).toBe('hash-mismatch: metrics.json');
    expect(await ensureArtifact(store, identity, plan, writer)).toMatchObject({ outcome: 'produced' });
    expect(writes).toBe(2);

    // a listed file changed with its stamp: found by stamp, then hash
    writeFileSync(path.join(folder, 'report.md'), '# rep0rt');
    expect(await checkArtifact(store, identity, plan)).toMatchObject({ decision: 'todo', reason: 'hash-mismatch' });
    expect(hashBytes(readFileSync(path.join(folder, ARTIFACT_RECORD_FILE)))).toBe(
      (await store.artifacts.getArtifact(identity))?.contentHash,
    );
  });
});
