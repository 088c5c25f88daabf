// Hostile and broken input through the real ingest and extract commands (the toy layout and
// backbone of test-support keep it fast): every refusal names the file or line and has its code,
// the exit code agrees with `status`, and a refused command leaves the manifest as it was.
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestStore } from 'shared';
import { SHARED_STAGES } from 'shared/stages';
import type { CapturedRun } from 'shared/testing';
import { dispatchCaptured, dumpManifest } from 'shared/testing';
import { registerBackbone } from '../backbones/registry.js';
import { registerLayout } from '../layouts/registry.js';
import { makeTempDir, patternFrames, writePngFrames } from '../probe/testing.js';
import { toyMeanColourBackbone, writeToyCheckpoint } from '../test-support/toy-backbone.js';
import { toyListLayout } from '../test-support/toy-layout.js';
import { EXTRACT_STAGES } from './index.js';

const STAGES = [...EXTRACT_STAGES, ...SHARED_STAGES];

/** Runs `pthnet <args>` in-process with the work folder's config; the exit code and what it printed. */
function pthnet(work: string, ...args: string[]): Promise<CapturedRun> {
  const config = args.includes('--config') ? [] : ['--config', join(work, 'pthnet.config.json')];
  return dispatchCaptured(STAGES, [args[0] as string, ...config, ...args.slice(1)]);
}

describe('hostile input through ingest, extract and status', () => {
  let work: string;
  const manifest = () => join(work, 'data', 'manifest.sqlite');
  const unregister: Array<() => void> = [];

  beforeAll(async () => {
    unregister.push(registerLayout(toyListLayout), registerBackbone(toyMeanColourBackbone));
    work = await makeTempDir('pthnet-hostile-');
    await writePngFrames(join(work, 'clips/a'), patternFrames(6, 8, 8), 8, 8);
    // a frame folder whose first frame is a picture and whose others are junk: the probe reads the first only
    await writePngFrames(join(work, 'clips/junk'), patternFrames(1, 8, 8), 8, 8);
    await writeFile(join(work, 'clips/junk/2.png'), 'not a picture');
    await writeFile(join(work, 'clips/junk/3.png'), 'neither');
    await mkdir(join(work, 'outside'), { recursive: true });
    await writePngFrames(join(work, 'outside/x'), patternFrames(3, 8, 8), 8, 8);
    await writeToyCheckpoint(join(work, 'toy.json'), {
      weight: [
        [1, 0, 0],
        [0, 1, 0],
      ],
      bias: [0, 0],
    });
    writeFileSync(join(work, 'bad.json'), JSON.stringify({ weight: [[1, 0, 0]], bias: [0] }));
    writeFileSync(join(work, 'bad.pth'), 'PK\u0003\u0004 this is no zip');
    writeFileSync(
      join(work, 'pthnet.config.json'),
      JSON.stringify({
        dataDir: join(work, 'data'),
        ingest: { datasets: [{ name: 'toy', layout: 'toy-list', root: join(work, 'clips'), labels: ['happy', 'sad'] }] },
        extract: { backbone: { name: 'toy-mean-colour', preset: 'toy-2', checkpoint: join(work, 'toy.json') }, tag: 'toy', strides: [4] },
      }),
    );
    writeFileSync(
      join(work, 'clips/clips.csv'),
      ['train,happy,a', 'train,sad,junk', 'train,happy,../outside/x', 'test,happy,/etc/x', 'test,happy,a'].join('\n'),
    );
  });
  afterAll(() => {
    for (const undo of unregister) undo();
  });

  it('ingest names every refused line with its code, records it, and exits 1 as status shows issues', async () => {
    const ingest = await pthnet(work, 'ingest');
    expect(ingest.code).toBe(1);
    const list = join(work, 'clips/clips.csv');
    expect(ingest.out.split('\n')).toEqual([
      'ingest toy: 1 clips (1 new, 0 changed, 0 unchanged); 0 artifacts marked stale; problems: path_escape 2, split_conflict 1',
      `  path_escape: ${list}: clips.csv:3: expected a path inside its root, got "../outside/x", whose ".." segments lead outside it`,
      `  path_escape: ${list}: clips.csv:4: expected a path relative to its root, got the absolute "/etc/x"`,
      `  split_conflict: ${list}: clips.csv:5: clip listed in split test here and in split train at clips.csv:1 (train/test leakage): left out of every split`,
    ]);
    const json = await pthnet(work, 'ingest', '--json');
    expect(json.code).toBe(1);
    const [summary] = JSON.parse(json.out) as Array<{ issues: Array<{ code: string; path: string }> }>;
    expect(summary?.issues.map((i) => [i.code, i.path])).toEqual([
      ['path_escape', join(work, 'clips/clips.csv')],
      ['path_escape', join(work, 'clips/clips.csv')],
      ['split_conflict', join(work, 'clips/clips.csv')],
    ]);
    const store = await ManifestStore.open(manifest());
    try {
      // the leaked clip is in no split, and nothing outside the root became a clip
      expect((await store.clips.listClips()).map((c) => [c.id, c.split])).toEqual([['junk', 'train']]);
    } finally {
      await store.close();
    }
  });

  it('extract exits 1 when a clip fails, and status --problems names its file and why', async () => {
    const extract = await pthnet(work, 'extract');
    expect(extract.code).toBe(1);
    expect(extract.out).toMatch(/^extract: 0 feature files written, 0 up to date, 1 clip sources failed/);
    const problems = await pthnet(work, 'status', '--problems');
    expect(problems.code).toBe(0);
    const lines = problems.out.split('\n');
    expect(lines[0]).toBe('2 failed items, 3 ingest issues');
    const failed = lines.filter((l) => l.startsWith('  extract features junk'));
    expect(failed).toHaveLength(2);
    for (const line of failed) expect(line).toContain(`frame folder ${join(work, 'clips/junk')}: expected 3 decodable frames, got 1`);
    expect(lines.filter((l) => l.startsWith('  toy '))).toEqual([
      `  toy path_escape: ${join(work, 'clips/clips.csv')}: clips.csv:3: expected a path inside its root, got "../outside/x", whose ".." segments lead outside it`,
      `  toy path_escape: ${join(work, 'clips/clips.csv')}: clips.csv:4: expected a path relative to its root, got the absolute "/etc/x"`,
      `  toy split_conflict: ${join(work, 'clips/clips.csv')}: clips.csv:5: clip listed in split test here and in split train at clips.csv:1 (train/test leakage): left out of every split`,
    ]);
  });

  it('a refused backbone checkpoint changes nothing in the manifest: no run, no stale feature', async () => {
    // good clips, extracted: their features are done
    await writePngFrames(join(work, 'clips/junk'), patternFrames(3, 8, 8), 8, 8);
    writeFileSync(join(work, 'clips/clips.csv'), 'train,happy,a\ntrain,sad,junk\n');
    expect((await pthnet(work, 'ingest')).code).toBe(0);
    expect((await pthnet(work, 'extract')).code).toBe(0);
    const before = dumpManifest(manifest());
    expect(before).toMatch(/"status":"done"/);
    const cases: Array<[string[], RegExp]> = [
      [
        ['--checkpoint', join(work, 'bad.json')],
        new RegExp(`^pthnet extract: ${join(work, 'bad.json')}: weight: expected shape \\[2, 3\\], got \\[1, 3\\]`),
      ],
      [
        ['--checkpoint', join(work, 'nope.json')],
        /^pthnet extract: extract\.backbone\.checkpoint: expected an existing toy checkpoint \(\.json\), got ".*nope\.json"/,
      ],
      [
        ['--backbone', 'videomae-v2', '--preset', 'vit-s16', '--checkpoint', join(work, 'bad.pth')],
        new RegExp(`^pthnet extract: .*${join(work, 'bad.pth')}`),
      ],
    ];
    for (const [flags, message] of cases) {
      const refused = await pthnet(work, 'extract', ...flags);
      expect(refused.code, flags.join(' ')).toBe(1);
      expect(refused.err, flags.join(' ')).toMatch(message);
      expect(dumpManifest(manifest()), flags.join(' ')).toBe(before);
    }
    // an ingest whose dataset names a layout nobody registered: refused before a run is recorded
    const badLayout = join(work, 'bad-layout.config.json');
    writeFileSync(
      badLayout,
      JSON.stringify({ dataDir: join(work, 'data'), ingest: { datasets: [{ name: 'toy', layout: 'lmdb', root: work }] } }),
    );
    const refused = await pthnet(work, 'ingest', '--config', badLayout);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^pthnet ingest: ingest\.datasets "toy": layout\.layout: expected one of .*, got "lmdb"/);
    expect(dumpManifest(manifest())).toBe(before);
    // and the next run with the original checkpoint has nothing to do
    const again = await pthnet(work, 'extract');
    expect(again.out).toMatch(/^extract: 0 feature files written, 4 up to date/);
  });
});
