import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestStore } from 'shared';
import { resolveMediaBinaries } from 'extract';

/**
 * The main job end to end, reduced: `pnpm pthnet demo` (demo set → turbo run eval) on a small
 * demo set, then a rerun with nothing changed, then a rerun after one clip's file changed.
 * Counts come from the manifest's run records.
 */
const ROOT = join(import.meta.dirname, '../../../..');

function demo(config: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/pthnet.ts', 'demo', '--config', config], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`demo failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Counts of the newest run of each stage. */
async function lastRunCounts(manifest: string): Promise<Record<string, Record<string, number>>> {
  const store = await ManifestStore.open(manifest);
  try {
    const out: Record<string, Record<string, number>> = {};
    for (const stage of ['ingest', 'extract', 'datasets', 'train', 'eval'] as const) {
      const run = (await store.runs.listRuns({ stage, limit: 1 }))[0];
      out[stage] = run?.counts ? (JSON.parse(run.counts) as Record<string, number>) : {};
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('demo end to end (reduced)', () => {
  it('runs every stage through turbo, reruns nothing when nothing changed, and only one clip after it changes', async () => {
    const work = mkdtempSync(join(tmpdir(), 'pthnet-e2e-'));
    const data = join(work, 'data');
    const config = join(work, 'pthnet.config.json');
    const root = JSON.parse(readFileSync(join(ROOT, 'pthnet.config.json'), 'utf8')) as {
      ingest: { datasets: Record<string, unknown>[] };
      extract: { backbone: Record<string, unknown> };
      train: Record<string, unknown>;
    };
    writeFileSync(
      config,
      JSON.stringify({
        ...root,
        dataDir: data,
        ingest: { datasets: [{ ...root.ingest.datasets[0], root: join(data, 'demo/source') }] },
        extract: { ...root.extract, backbone: { ...root.extract.backbone, checkpoint: join(data, 'demo/backbone.safetensors') } },
        demo: { clipsPerClass: { train: 3, test: 2 } },
        train: { ...root.train, epochs: 2 },
      }),
    );
    const manifest = join(data, 'manifest.sqlite');

    const first = demo(config);
    expect(first).toMatch(/combined\s+[\d.]+\s+[\d.]+/);
    expect(existsSync(join(data, 'reports/latest/report.md'))).toBe(true);
    expect(existsSync(join(data, 'reports/latest/metrics.json'))).toBe(true);
    const c1 = await lastRunCounts(manifest);
    expect(c1.ingest).toMatchObject({ inserted: 35 });
    expect(c1.extract).toMatchObject({ produced: 35 * 6, failed: 0 });
    expect(c1.datasets).toMatchObject({ built: 4 });
    expect(c1.train).toMatchObject({ trained: 2 });
    expect(c1.eval).toMatchObject({ written: 1 });

    demo(config);
    const c2 = await lastRunCounts(manifest);
    expect(c2.ingest).toMatchObject({ inserted: 0, updated: 0, unchanged: 35 });
    expect(c2.extract).toMatchObject({ produced: 0, upToDate: 35 * 6 });
    expect(c2.datasets).toMatchObject({ built: 0, upToDate: 4 });
    expect(c2.train).toMatchObject({ trained: 0, upToDate: 2 });
    expect(c2.eval).toMatchObject({ written: 0 });

    // one clip's raw video (or frame) changes: its 6 feature files, then everything downstream
    const store = await ManifestStore.open(manifest);
    const clip = (await store.clips.listClips({ split: 'test' }))[0]!;
    const source = (await store.clips.getClipSource(clip.id, 'raw'))!;
    await store.close();
    const file = source.isFrameFolder ? join(source.path, readdirSync(source.path).sort()[0]!) : source.path;
    const { ffmpeg } = resolveMediaBinaries();
    const args = source.isFrameFolder
      ? ['-y', '-f', 'lavfi', '-i', 'color=c=red:s=64x48', '-frames:v', '1', file]
      : ['-y', '-f', 'lavfi', '-i', `testsrc2=s=64x48:r=25`, '-frames:v', String(source.frameCount), '-pix_fmt', 'yuv420p', file];
    expect(spawnSync(ffmpeg, args).status).toBe(0);
    demo(config);
    const c3 = await lastRunCounts(manifest);
    expect(c3.ingest).toMatchObject({ updated: 1 });
    expect(c3.extract).toMatchObject({ produced: 6, upToDate: 34 * 6 });
    expect(c3.datasets).toMatchObject({ built: 2, upToDate: 2 });
    expect(c3.train).toMatchObject({ trained: 2 });
    expect(c3.eval).toMatchObject({ written: 1 });
  }, 900_000);
});
