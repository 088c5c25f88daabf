/**
 * `pnpm bench manifest`: see USAGE. The no-op rerun it times is `extract`'s own planning
 * (`planExtract`: every clip and source, every feature item checked with `checkArtifacts`) and
 * its feature lists (`writeFeatureLists`), the code a rerun of `extract` with nothing to do runs,
 * over real (empty) feature files, so that their stats are in the figure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  benchFlags,
  positiveIntegerFlag,
  ConfigError,
  MANIFEST_ENV_VAR,
  ManifestStore,
  featureIdentity,
  fileStampSync,
  hashBytes,
  redactLocation,
  registerArtifacts,
  validateConfig,
} from 'shared';
import type { ArtifactIdentity, RegisteredItem } from 'shared';
import { resolveBackbone } from '../backbones/registry.js';
import { planExtract, planExtractItems, writeFeatureLists } from '../stages/extract.js';

const USAGE = `Usage: pnpm bench manifest [flags]
The manifest's own cost at FERV39k's size (38,935 clips, 6 feature files each: 233,610 artifacts)
on SQLite and, given an empty PostgreSQL database, on PostgreSQL:

- fill: the clips and their sources upserted, an empty feature file made for every artifact and
  all of them registered as done (as import-features does), the feature lists written;
- claims/s: new items claimed then completed one by one, as a worker does (each a transaction);
- no-op rerun: what a rerun of extract with nothing to do runs (its planning through
  checkArtifacts: the rows a few hundred per query, a stat per file; then its feature lists),
  --reruns times.

Prints the figures on stderr, JSON on stdout.

  --clips <n>        clips (default 38935)
  --claims <n>       items claimed and completed for claims/s (default 2000)
  --reruns <n>       no-op reruns; the fastest is reported, with all of them (default 3)
  --postgres <url>   an empty PostgreSQL database to fill and measure too (default $${MANIFEST_ENV_VAR})
  --dir <folder>     scratch folder for the SQLite file and the feature files (default: a new temp folder, removed after)
  -h, --help         this text`;

const values = benchFlags(USAGE, {
  clips: { type: 'string', default: '38935' },
  claims: { type: 'string', default: '2000' },
  reruns: { type: 'string', default: '3' },
  postgres: { type: 'string' },
  dir: { type: 'string' },
});
const clipCount = positiveIntegerFlag('clips', values.clips);
const claimCount = positiveIntegerFlag('claims', values.claims);
const rerunCount = positiveIntegerFlag('reruns', values.reruns);
const postgresUrl = values.postgres ?? process.env[MANIFEST_ENV_VAR];

const clipId = (i: number) => `Scene${i % 22}/Emotion${i % 7}/${String(i).padStart(5, '0')}`;
const EMPTY_SHA256 = hashBytes(new Uint8Array(0));
/** Rows of a 9-window feature file, as the feature lists record them. */
const WINDOWS = 9;

const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(2));

async function measure(label: string, location: string, dataDir: string): Promise<Record<string, number | string>> {
  const store = await ManifestStore.open(location);
  try {
    if ((await store.clips.countClips()) > 0) {
      throw new ConfigError(`bench manifest: expected an empty manifest at ${redactLocation(location)}, got clips in it`);
    }
    const config = validateConfig({ dataDir });
    const backbone = { hash: 'bench-backbone-sha256', spec: resolveBackbone(config.extract.backbone) };

    let started = performance.now();
    const clips = Array.from({ length: clipCount }, (_, i) => ({
      id: clipId(i),
      dataset: 'ferv39k',
      split: i % 5 === 0 ? 'test_All' : 'train_All',
      label: i % 7,
      labelName: `Emotion${i % 7}`,
      frameCount: 8 + (i % 40),
      contentHash: hashBytes(`clip-${i}`),
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
    const upsertSeconds = seconds(started);

    // the feature files a first run of extract would have written (empty: a stat does not read them)
    started = performance.now();
    const items = await planExtractItems(store, config, dataDir, backbone);
    const folders = new Set(items.map((item) => path.dirname(item.path)));
    for (const folder of folders) mkdirSync(folder, { recursive: true });
    const registered: RegisteredItem[] = items.map((item) => {
      writeFileSync(item.path, '');
      const stamp = fileStampSync(item.path);
      if (stamp === undefined) throw new Error(`bench manifest: ${item.path} was not written`);
      return {
        identity: item.identity,
        plan: { cacheKey: item.cacheKey, path: item.path, params: { ...item.params, windows: WINDOWS } },
        file: { bytes: stamp.bytes, contentHash: EMPTY_SHA256, fileStamp: stamp.stamp },
      };
    });
    const registeredCounts = await registerArtifacts(store, registered);
    if (registeredCounts.registered !== items.length) {
      throw new Error(`bench manifest: expected ${items.length} artifacts registered, got ${registeredCounts.registered}`);
    }
    await writeFeatureLists(store, dataDir);
    const fillSeconds = seconds(started);

    // claims: new items (stride 32, outside the feature folders), claimed then completed one by one, as a worker does
    const claimed: ArtifactIdentity[] = Array.from({ length: claimCount }, (_, i) =>
      featureIdentity(clipId(i % clipCount), 'forward', 32, 'raw'),
    );
    started = performance.now();
    for (const [i, identity] of claimed.entries()) {
      const claim = await store.artifacts.claim(identity, { cacheKey: 'k', path: path.join(dataDir, 'claims', `${i}.npy`) });
      if (claim === null) throw new Error('bench manifest: a fresh item was not claimable');
      await store.artifacts.complete(identity, { path: claim.path, bytes: 1, contentHash: 'x' });
    }
    const claimsPerSecond = Math.round(claimCount / ((performance.now() - started) / 1000));

    // the no-op rerun of extract: its plan, then its feature lists; several times, on a machine whose load varies
    const reruns: Array<{ plan: number; lists: number; total: number }> = [];
    for (let r = 0; r < rerunCount; r++) {
      started = performance.now();
      const plan = await planExtract(store, config, dataDir, backbone, undefined);
      const planSeconds = seconds(started);
      const listsStarted = performance.now();
      await writeFeatureLists(store, dataDir);
      reruns.push({ plan: planSeconds, lists: seconds(listsStarted), total: seconds(started) });
      if (plan.upToDate !== items.length || plan.groups.length !== 0) {
        throw new Error(
          `bench manifest: expected all ${items.length} features up to date, got ${plan.upToDate} (${plan.groups.length} clip sources to do)`,
        );
      }
    }
    // biome-ignore lint/style/noNonNullAssertion: --reruns is at least 1
    const best = reruns.reduce((a, b) => (b.total < a.total ? b : a), reruns[0]!);
    const result = {
      backend: label,
      clips: clipCount,
      artifacts: items.length,
      upsertSeconds,
      fillSeconds,
      claimsPerSecond,
      noopPlanSeconds: best.plan,
      noopListsSeconds: best.lists,
      noopRerunSeconds: best.total,
      noopRerunsSeconds: reruns.map((rerun) => rerun.total).join(', '),
    };
    process.stderr.write(
      `[bench manifest] ${label}: ${clipCount} clips upserted in ${upsertSeconds} s, ${items.length} artifacts filed in ${fillSeconds} s; ` +
        `${claimsPerSecond} claims/s (claim + complete); no-op rerun ${best.total} s at best ` +
        `(plan ${best.plan} s, feature lists ${best.lists} s; the ${reruns.length} runs: ${result.noopRerunsSeconds} s)\n`,
    );
    return result;
  } finally {
    await store.close();
  }
}

const scratch = values.dir === undefined ? mkdtempSync(path.join(tmpdir(), 'pthnet-bench-manifest-')) : path.resolve(values.dir);
try {
  const results = [await measure('sqlite', path.join(scratch, 'manifest.sqlite'), path.join(scratch, 'sqlite-data'))];
  if (postgresUrl === undefined) {
    process.stderr.write(`[bench manifest] postgres: skipped (give an empty database with --postgres <url> or $${MANIFEST_ENV_VAR})\n`);
  } else {
    results.push(await measure('postgres', postgresUrl, path.join(scratch, 'postgres-data')));
  }
  console.log(JSON.stringify({ results }, null, 2));
} finally {
  if (values.dir === undefined) rmSync(scratch, { recursive: true, force: true });
}
