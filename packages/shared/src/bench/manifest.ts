/**
 * `pnpm bench manifest [--clips 38935] [--claims 2000] [--postgres <url>]`: the manifest's own cost at
 * FERV39k's size (38,935 clips, 6 feature files each: 233,610 artifacts), on SQLite and, given a
 * PostgreSQL database (`--postgres` or $PTHNET_MANIFEST_URL; an empty one, it is filled), on PostgreSQL:
 *
 * - claims/s: claim then complete new items one by one, as workers do (each a transaction);
 * - no-op rerun: what a rerun of `extract` with nothing to do asks of the manifest: every clip and
 *   its sources, then every feature artifact's row (the file checks that follow are the same on
 *   either database and are left out).
 *
 * Figures on stderr, JSON on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backendOf } from '../manifest/store.js';
import { ManifestStore } from '../manifest/store.js';
import { identityKey } from '../manifest/identity.js';
import { MANIFEST_ENV_VAR } from '../manifest/constants.js';
import { featureIdentity } from '../pipeline/catalogue.js';
import type { ArtifactIdentity } from '../manifest/types.js';

const FEATURES = [
  ['forward', 4],
  ['forward', 8],
  ['forward', 16],
  ['reversed', 4],
  ['reversed', 8],
  ['reversed', 16],
] as const;

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function positive(name: string, fallback: number): number {
  const text = flag(name);
  const value = text === undefined ? fallback : Number(text);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

const clipCount = positive('--clips', 38_935);
const claimCount = positive('--claims', 2_000);
const postgresUrl = flag('--postgres') ?? process.env[MANIFEST_ENV_VAR];

const clipId = (i: number) => `Scene${i % 22}/Emotion${i % 7}/${String(i).padStart(5, '0')}`;
const featurePath = (id: string, direction: string, stride: number) => `/bench/features/${direction}_${stride}/${id}.npy`;

async function fill(store: ManifestStore): Promise<void> {
  const clips = Array.from({ length: clipCount }, (_, i) => ({
    id: clipId(i),
    dataset: 'ferv39k',
    split: i % 5 === 0 ? 'test_All' : 'train_All',
    label: i % 7,
    labelName: `Emotion${i % 7}`,
    frameCount: 8 + (i % 40),
    contentHash: `clip-${i}`,
  }));
  await store.clips.upsertClips(clips);
  await store.clips.upsertClipSources(
    clips.map((c) => ({
      clipId: c.id,
      kind: 'raw' as const,
      path: `/bench/clips/${c.id}.mp4`,
      contentHash: c.contentHash,
      frameCount: c.frameCount,
      isFrameFolder: false,
    })),
  );
  const backend = backendOf(store);
  const now = new Date();
  await backend.transaction(async () => {
    let batch: Array<typeof backend.tables.artifacts.$inferInsert> = [];
    for (const clip of clips) {
      for (const [direction, stride] of FEATURES) {
        const identity = featureIdentity(clip.id, direction, stride, 'raw');
        batch.push({
          ...identity,
          identity: identityKey(identity),
          cacheKey: `key-${clip.id}`,
          path: featurePath(clip.id, direction, stride),
          bytes: 1408 * 4 * 9 + 128,
          contentHash: `sha-${clip.id}-${direction}-${stride}`,
          status: 'done',
          attempts: 1,
          createdAt: now,
          updatedAt: now,
          completedAt: now,
        });
        if (batch.length === 500) {
          await backend.db.insert(backend.tables.artifacts).values(batch);
          batch = [];
        }
      }
    }
    if (batch.length > 0) await backend.db.insert(backend.tables.artifacts).values(batch);
  });
}

async function measure(label: string, location: string): Promise<Record<string, number | string>> {
  const store = await ManifestStore.open(location);
  try {
    if ((await store.clips.countClips()) > 0)
      throw new Error(`bench manifest: expected an empty manifest at ${store.path}, got clips in it`);
    let started = performance.now();
    await fill(store);
    const fillSeconds = (performance.now() - started) / 1000;

    // claims: new items (stride 32), claimed then completed one by one, as a worker does
    const items: ArtifactIdentity[] = Array.from({ length: claimCount }, (_, i) =>
      featureIdentity(clipId(i % clipCount), 'forward', 32, 'raw'),
    );
    started = performance.now();
    for (const identity of items) {
      const claimed = await store.artifacts.claim(identity, { cacheKey: 'k', path: featurePath(identity.clipId ?? '', 'forward', 32) });
      if (claimed === null) throw new Error('bench manifest: a fresh item was not claimable');
      await store.artifacts.complete(identity, { path: claimed.path, bytes: 1, contentHash: 'x' });
    }
    const claimSeconds = (performance.now() - started) / 1000;

    // a no-op rerun of extract, manifest side: clips, their sources, every feature row
    started = performance.now();
    let rows = 0;
    for (const clip of await store.clips.listClips()) {
      await store.clips.getClipSources(clip.id);
      for (const [direction, stride] of FEATURES) {
        const row = await store.artifacts.getArtifact(featureIdentity(clip.id, direction, stride, 'raw'));
        if (row?.status === 'done') rows++;
      }
    }
    const rerunSeconds = (performance.now() - started) / 1000;
    if (rows !== clipCount * FEATURES.length)
      throw new Error(`bench manifest: expected ${clipCount * FEATURES.length} done rows, got ${rows}`);
    const result = {
      backend: label,
      clips: clipCount,
      artifacts: rows,
      fillSeconds: Number(fillSeconds.toFixed(1)),
      claimsPerSecond: Math.round(claimCount / claimSeconds),
      noopRerunSeconds: Number(rerunSeconds.toFixed(1)),
    };
    process.stderr.write(
      `[bench manifest] ${label}: ${clipCount} clips, ${rows} artifacts (filled in ${result.fillSeconds} s); ` +
        `${result.claimsPerSecond} claims/s (claim + complete); no-op rerun ${result.noopRerunSeconds} s\n`,
    );
    return result;
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-bench-manifest-'));
try {
  const results = [await measure('sqlite', path.join(dir, 'manifest.sqlite'))];
  if (postgresUrl === undefined) {
    process.stderr.write(`[bench manifest] postgres: skipped (give an empty database with --postgres <url> or $${MANIFEST_ENV_VAR})\n`);
  } else {
    results.push(await measure('postgres', postgresUrl));
  }
  console.log(JSON.stringify({ results }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
