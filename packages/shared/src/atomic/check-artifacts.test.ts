import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashBytes } from '../cache/hash.js';
import { ManifestStore } from '../manifest/store.js';
import { postgresForTests, startPostgres } from '../manifest/test-support/postgres-server.js';
import type { PostgresServer } from '../manifest/test-support/postgres-server.js';
import type { ArtifactPlan, ArtifactState } from '../manifest/types.js';
import { reportIdentity } from '../pipeline/catalogue.js';
import { checkArtifact, checkArtifacts, ensureArtifact, registerArtifacts } from './produce-artifact.js';
import { itemClip, itemIdentity } from './test-support/items.js';
import type { CheckItem, CheckOptions } from './types.js';
import { writeFileAtomic } from './write-file-atomic.js';

/**
 * `checkArtifacts` (a whole stage's plan at once) against `checkArtifact` (one item): the same
 * manifest and files made twice, checked one way and the other, must give the same plans and
 * leave the same rows, on every case the check knows. The expected reasons are asserted too, so
 * that two forms wrong the same way fail.
 */

const postgres = postgresForTests();
const BACKENDS = postgres.available ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgres.available) server = await startPostgres(postgres);
});
afterAll(async () => server?.stop());

const T0 = 1_700_000_000;
const T1 = T0 + 60;

/** Each case: its name, the plan it expects, and what it does to the item after it was made. */
const FILE_CASES = [
  { name: 'unchanged', expect: ['skip', 'up-to-date'] },
  { name: 'new', expect: ['todo', 'new'] },
  { name: 'key-changed', expect: ['todo', 'key-changed'] },
  { name: 'pending', expect: ['todo', 'pending'] },
  { name: 'failed', expect: ['todo', 'failed'] },
  { name: 'stale', expect: ['todo', 'stale'] },
  { name: 'path-changed', expect: ['todo', 'path-changed'] },
  { name: 'file-missing', expect: ['todo', 'file-missing'] },
  { name: 'size-mismatch', expect: ['todo', 'size-mismatch'] },
  { name: 'touched', expect: ['skip', 'up-to-date'] },
  { name: 'changed', expect: ['todo', 'hash-mismatch'] },
  { name: 'rewritten-same-stamp', expect: ['skip', 'up-to-date'] },
  { name: 'folder-unchanged', expect: ['skip', 'up-to-date'] },
  { name: 'folder-touched', expect: ['skip', 'up-to-date'] },
  { name: 'folder-changed', expect: ['todo', 'hash-mismatch'] },
  { name: 'folder-member-missing', expect: ['todo', 'file-missing'] },
] as const;
type CaseName = (typeof FILE_CASES)[number]['name'];

/** What must agree between the two forms: the plan, the row it answers and the row left in the manifest. */
interface Outcome {
  decision: ArtifactPlan['decision'];
  reason: ArtifactPlan['reason'];
  row: ReturnType<typeof comparable>;
  stored: ReturnType<typeof comparable>;
}

function comparable(row: ArtifactState | undefined, before: string | null | undefined, dir: string) {
  if (row === undefined) return undefined;
  return {
    status: row.status,
    error: row.error?.replaceAll(dir, '<dir>') ?? null,
    cacheKey: row.cacheKey,
    /** whether the stamp changed from what the row held before the check */
    restamped: row.fileStamp !== before,
  };
}

/** A manifest in `dir` with one artifact per case, each left as its case says. */
async function makeCases(store: ManifestStore, dir: string): Promise<Array<CheckItem & { name: CaseName }>> {
  const items: Array<CheckItem & { name: CaseName }> = [];
  const writeFixed = (content: string) => async (tmp: string) => {
    await writeFile(tmp, content);
    utimesSync(tmp, T0, T0);
  };
  for (const [n, { name }] of FILE_CASES.entries()) {
    if (name.startsWith('folder')) {
      const identity = reportIdentity(`d-${n}`, 'reports/latest');
      const folder = path.join(dir, 'reports', name);
      const plan = { cacheKey: 'k', path: folder };
      await ensureArtifact(store, identity, plan, {
        writeFolder: async (into) => {
          await writeFileAtomic(path.join(into, 'metrics.json'), '{"war":1}');
          await writeFileAtomic(path.join(into, 'report.md'), '# report');
          return { files: ['metrics.json', 'report.md'] };
        },
      });
      if (name === 'folder-touched') utimesSync(path.join(folder, 'report.md'), T1, T1);
      if (name === 'folder-changed') writeFileSync(path.join(folder, 'report.md'), '# rep0rt');
      if (name === 'folder-member-missing') rmSync(path.join(folder, 'metrics.json'));
      items.push({ name, identity, plan });
      continue;
    }
    await store.clips.upsertClip(itemClip(n));
    const identity = itemIdentity(n);
    const file = path.join(dir, 'features', `${name}.npy`);
    const plan = { cacheKey: 'k', path: file };
    items.push({ name, identity, plan });
    if (name === 'new') continue;
    if (name === 'pending') {
      expect(await store.artifacts.claim(identity, plan)).not.toBeNull();
      continue;
    }
    await ensureArtifact(store, identity, plan, writeFixed('content of the file'));
    if (name === 'failed' || name === 'stale') {
      // failed (then stale) under the same key: planned todo for its status, never invalidated again
      await store.artifacts.invalidate(identity, 'to fail it');
      expect(await store.artifacts.claim(identity, plan)).not.toBeNull();
      await store.artifacts.fail(identity, new Error('decoder exploded'));
      if (name === 'stale') await store.artifacts.invalidate(identity, 'marked stale');
    }
    if (name === 'key-changed') items[items.length - 1] = { name, identity, plan: { ...plan, cacheKey: 'k2' } };
    if (name === 'path-changed') items[items.length - 1] = { name, identity, plan: { ...plan, path: `${file}.moved` } };
    if (name === 'file-missing') rmSync(file);
    if (name === 'size-mismatch') writeFileSync(file, 'short');
    if (name === 'touched') utimesSync(file, T1, T1);
    if (name === 'changed') writeFileSync(file, 'CONTENT of the file');
    if (name === 'rewritten-same-stamp') {
      // same size, mtime and inode: only a hash can tell
      writeFileSync(file, 'CONTENT OF THE FILE');
      utimesSync(file, T0, T0);
    }
  }
  return items;
}

async function checkEach(store: ManifestStore, items: readonly CheckItem[], options: CheckOptions): Promise<ArtifactPlan[]> {
  const plans: ArtifactPlan[] = [];
  for (const item of items) plans.push(await checkArtifact(store, item.identity, item.plan, options));
  return plans;
}

describe.each(BACKENDS)('checkArtifacts agrees with checkArtifact (%s)', (backend) => {
  const dirs: string[] = [];
  const stores: ManifestStore[] = [];
  async function open(): Promise<{ dir: string; store: ManifestStore }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-check-bulk-'));
    dirs.push(dir);
    if (backend === 'postgres' && server === undefined) throw new Error('no PostgreSQL server');
    const location = backend === 'sqlite' ? path.join(dir, 'manifest.sqlite') : await (server as PostgresServer).createDatabase();
    const store = await ManifestStore.open(location);
    stores.push(store);
    return { dir, store };
  }
  beforeEach(() => {
    dirs.length = 0;
    stores.length = 0;
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** The same cases made in two manifests, checked item by item in one and all at once in the other. */
  async function bothForms(verify: CheckOptions['verify']): Promise<{ single: Outcome[]; bulk: Outcome[]; names: CaseName[] }> {
    const options = verify === undefined ? {} : { verify };
    const run = async (bulk: boolean) => {
      const { dir, store } = await open();
      const items = await makeCases(store, dir);
      const before = await store.artifacts.getArtifactStates(items.map((item) => item.identity));
      const plans = bulk ? await checkArtifacts(store, items, options) : await checkEach(store, items, options);
      const after = await store.artifacts.getArtifactStates(items.map((item) => item.identity));
      const outcomes = plans.map(
        (plan, i): Outcome => ({
          decision: plan.decision,
          reason: plan.reason,
          row: comparable(plan.row, before[i]?.fileStamp, dir),
          stored: comparable(after[i], before[i]?.fileStamp, dir),
        }),
      );
      return { outcomes, names: items.map((item) => item.name) };
    };
    const single = await run(false);
    const bulk = await run(true);
    return { single: single.outcomes, bulk: bulk.outcomes, names: bulk.names };
  }

  it('by stamp (the default): the same plan, row and write for every case', async () => {
    const { single, bulk, names } = await bothForms(undefined);
    expect(bulk).toEqual(single);
    const byName = Object.fromEntries(names.map((name, i) => [name, bulk[i]]));
    for (const {
      name,
      expect: [decision, reason],
    } of FILE_CASES) {
      expect([name, byName[name]?.decision, byName[name]?.reason]).toEqual([name, decision, reason]);
    }
    // the writes: stale where the check found a done (or failed) row out of date, new stamps where a hash found it unchanged
    expect(byName['key-changed']?.stored).toMatchObject({ status: 'stale', error: 'cache key changed' });
    expect(byName['path-changed']?.stored?.status).toBe('stale');
    expect(byName['file-missing']?.stored).toMatchObject({ status: 'stale', error: 'file-missing' });
    expect(byName['size-mismatch']?.stored).toMatchObject({ status: 'stale', error: 'size-mismatch' });
    expect(byName.changed?.stored).toMatchObject({ status: 'stale', error: 'hash-mismatch' });
    expect(byName['folder-changed']?.stored).toMatchObject({ status: 'stale', error: 'hash-mismatch: report.md' });
    expect(byName['folder-member-missing']?.stored).toMatchObject({ status: 'stale', error: 'file-missing: metrics.json' });
    expect(byName.failed?.stored).toMatchObject({ status: 'failed' });
    expect(byName.pending?.stored).toMatchObject({ status: 'pending' });
    expect(byName.touched?.stored).toMatchObject({ status: 'done', restamped: true });
    expect(byName.touched?.row).toMatchObject({ status: 'done', restamped: true });
    expect(byName['folder-touched']?.stored).toMatchObject({ status: 'done', restamped: true });
    expect(byName.unchanged?.stored).toMatchObject({ status: 'done', restamped: false });
    expect(byName['rewritten-same-stamp']?.stored).toMatchObject({ status: 'done', restamped: false });
  });

  it('with --rehash (verify hash) and with sizes only: the same plans, rows and writes', async () => {
    const hashed = await bothForms('hash');
    expect(hashed.bulk).toEqual(hashed.single);
    const hashedByName = Object.fromEntries(hashed.names.map((name, i) => [name, hashed.bulk[i]]));
    expect(hashedByName['rewritten-same-stamp']).toMatchObject({ decision: 'todo', reason: 'hash-mismatch' });
    expect(hashedByName.unchanged).toMatchObject({ decision: 'skip', stored: { restamped: false } });
    const sized = await bothForms('size');
    expect(sized.bulk).toEqual(sized.single);
    const sizedByName = Object.fromEntries(sized.names.map((name, i) => [name, sized.bulk[i]]));
    expect(sizedByName.changed).toMatchObject({ decision: 'skip', stored: { status: 'done', restamped: false } });
    expect(sizedByName['size-mismatch']).toMatchObject({ decision: 'todo', reason: 'size-mismatch' });
  });

  it('answers one plan per item in order across the chunks it reads, stating files without hashing them', async () => {
    const { dir, store } = await open();
    const count = 1203;
    const clips = Array.from({ length: count }, (_, i) => itemClip(i));
    await store.clips.upsertClips(clips);
    const registered = clips.map((_, i) => {
      const file = path.join(dir, `f${i}.npy`);
      writeFileSync(file, `item ${i}`);
      const stats = statSync(file, { bigint: true });
      return {
        identity: itemIdentity(i),
        plan: { cacheKey: `k${i}`, path: file },
        // a wrong hash: an item whose stamp is unchanged is trusted without a read
        file: {
          bytes: Number(stats.size),
          contentHash: hashBytes(Buffer.from(`other ${i}`)),
          fileStamp: `${stats.size}:${stats.mtimeNs}:${stats.ino}`,
        },
      };
    });
    // every 100th left out of the manifest: new
    const kept = registered.filter((_, i) => i % 100 !== 0);
    expect(await registerArtifacts(store, kept)).toEqual({ registered: kept.length, taken: 0 });
    const checked: number[] = [];
    const plans = await checkArtifacts(store, registered, { onChecked: (items) => checked.push(items) });
    expect(plans).toHaveLength(count);
    expect(checked.reduce((sum, n) => sum + n, 0)).toBe(count);
    plans.forEach((plan, i) => {
      expect([i, plan.decision, plan.reason, plan.row?.cacheKey]).toEqual(
        i % 100 === 0 ? [i, 'todo', 'new', undefined] : [i, 'skip', 'up-to-date', `k${i}`],
      );
    });
  });
});
