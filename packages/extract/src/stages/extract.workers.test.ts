import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSourceConfig } from 'shared';
import { ManifestStore, validateConfig } from 'shared';
import { postgresForTests, startPostgres } from 'shared/testing';
import type { PostgresServer } from 'shared/testing';
import { makeTempDir, writeLavfiVideo } from '../probe/testing.js';
import { ingestDataset } from './ingest.js';
import { runExtract } from './extract.js';

/*
 * Several machines sharing the work, on one: four `extract` processes against one PostgreSQL
 * manifest and one data directory, one of them SIGKILLed while it holds an item. Every feature
 * file must be made once, byte for byte as one process alone makes it, and `status` must show
 * the dead worker's lease as expired until a later run redoes the item.
 */

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE_CKPT = resolve(here, '../../../../../shared/fixtures/videomae/tiny/checkpoint.pth');
const CHILD = join(here, '../test-support/extract-child.ts');
const CLIPS = 8;

const postgres = postgresForTests();

interface Worker {
  pid: number;
  /** Its connections' `application_name` on the server. */
  name: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
  /** SIGSTOP / SIGCONT: holds a worker still, as a slow machine would be, without ending its leases. */
  pause(paused: boolean): void;
}

let workerCount = 0;

function startWorker(configPath: string, manifestUrl: string): Worker {
  const name = `pthnet-worker-${++workerCount}`;
  const url = new URL(manifestUrl);
  url.searchParams.set('application_name', name);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, '--config', configPath], {
    env: { ...process.env, PTHNET_MANIFEST_URL: url.href },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) =>
    child.on('close', (code, signal) => done({ code, signal, stderr })),
  );
  return {
    pid: child.pid ?? -1,
    name,
    done,
    kill: () => child.kill('SIGKILL'),
    pause: (paused) => child.kill(paused ? 'SIGSTOP' : 'SIGCONT'),
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
}

describe.skipIf(!postgres.available)('extract by several processes sharing one PostgreSQL manifest', () => {
  let server: PostgresServer;
  let root: string;
  beforeAll(async () => {
    if (!postgres.available) return;
    server = await startPostgres(postgres);
    root = await makeTempDir('pthnet-workers-');
    for (let i = 0; i < CLIPS; i++) {
      const id = `Action/${i % 2 ? 'Sad' : 'Happy'}/${String(i).padStart(4, '0')}`;
      await mkdir(dirname(join(root, 'src/0_7_LabelClips', id)), { recursive: true });
      await writeLavfiVideo(join(root, 'src/0_7_LabelClips', `${id}.mp4`), 'testsrc2', 17 + 5 * i, 40, 32);
    }
    await mkdir(join(root, 'src/4_setups/All_scenes'), { recursive: true });
    const ids = Array.from(
      { length: CLIPS },
      (_, i) => `Action/${i % 2 ? 'Sad' : 'Happy'}/${String(i).padStart(4, '0')} ${i % 2 ? 'Sad' : 'Happy'}`,
    );
    await writeFile(join(root, 'src/4_setups/All_scenes/train_All.csv'), `${ids.join('\n')}\n`);
    await writeFile(join(root, 'src/4_setups/All_scenes/test_All.csv'), '');
  });
  afterAll(async () => server?.stop());

  it('4 workers, one killed mid-item: each file made once, as one process makes it; status shows the expired lease, then none', async () => {
    const entry = { name: 'ferv39k', layout: 'ferv39k', root: join(root, 'src'), sources: ['raw'] } as DatasetSourceConfig;
    const extract = {
      tag: 'tiny',
      batchSize: 4,
      backbone: { preset: 'custom', checkpoint: FIXTURE_CKPT, custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 } },
    };
    // the reference: one process alone, its own SQLite manifest and data directory
    const single = validateConfig({ workers: 1, backend: 'wasm', extract, dataDir: join(root, 'single') });
    const alone = await ManifestStore.open(join(root, 'single', 'manifest.sqlite'));
    await ingestDataset(alone, entry, { cwd: root, runId: await alone.runs.startRun('ingest', {}) });
    await runExtract(alone, single, join(root, 'single'), { runId: await alone.runs.startRun('extract', {}) });
    await alone.close();

    const url = await server.createDatabase();
    const configPath = join(root, 'shared.config.json');
    await writeFile(configPath, JSON.stringify({ workers: 1, backend: 'wasm', dataDir: join(root, 'shared'), extract }));
    const store = await ManifestStore.open(url);
    try {
      await ingestDataset(store, entry, { cwd: root, runId: await store.runs.startRun('ingest', {}) });
      const workers = Array.from({ length: 4 }, () => startWorker(configPath, url));
      // the first worker seen holding an item is killed while it holds it
      let victim: Worker | undefined;
      while (victim === undefined) {
        const leases = (await store.status.summary({ checkFiles: false })).workers;
        victim = workers.find((w) => leases.some((lease) => lease.pid === w.pid));
        if (victim === undefined) await new Promise((r) => setTimeout(r, 5));
      }
      // The others are held still meanwhile, so that none takes the dead worker's items over before
      // status is read (a dead process on the same machine is taken over at once, elsewhere when its lease runs out).
      const others = workers.filter((w) => w !== victim);
      for (const w of others) w.pause(true);
      victim.kill();
      expect((await victim.done).signal).toBe('SIGKILL');
      // a claim the victim sent just before it died may still be committing on the server
      await server.waitForDisconnect(victim.name);
      const stalled = await store.status.summary({ checkFiles: false });
      expect(stalled.expiredLeases.length).toBeGreaterThan(0);
      expect(stalled.expiredLeases.every((lease) => lease.pid === victim.pid && lease.stage === 'extract')).toBe(true);
      expect(stalled.workers.every((lease) => lease.pid !== victim.pid && others.some((w) => w.pid === lease.pid))).toBe(true);
      for (const w of others) w.pause(false);
      for (const r of await Promise.all(others.map((w) => w.done))) expect(r.code, r.stderr).toBe(0);

      // a later run redoes what the killed worker held
      const rerun = await startWorker(configPath, url).done;
      expect(rerun.code, rerun.stderr).toBe(0);
      const after = await store.status.summary();
      expect([after.workers, after.expiredLeases]).toEqual([[], []]);
      const features = after.stages.find((s) => s.stage === 'extract');
      expect(features).toMatchObject({ done: CLIPS * 6, pending: 0, failed: 0, missing: 0 });
      // every item made once: one attempt each, except the killed worker's, taken over once
      const attempts = (await store.artifacts.listArtifacts({ stage: 'extract' })).map((a) => a.attempts);
      expect(attempts.filter((n) => n !== 1)).toEqual(attempts.filter((n) => n === 2));
      expect(attempts.filter((n) => n === 2)).toHaveLength(stalled.expiredLeases.length);
    } finally {
      await store.close();
    }
    // byte for byte what one process alone wrote, and nothing else (no temp files left)
    const sharedFiles = filesUnder(join(root, 'shared', 'features'));
    expect(sharedFiles).toEqual(filesUnder(join(root, 'single', 'features')));
    expect(sharedFiles.filter((f) => f.endsWith('.npy'))).toHaveLength(CLIPS * 6);
    for (const file of sharedFiles) {
      expect(readFileSync(join(root, 'shared', 'features', file)).equals(readFileSync(join(root, 'single', 'features', file))), file).toBe(
        true,
      );
    }
  });
});
