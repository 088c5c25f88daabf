// Hostile and broken input through the real import-features, datasets and train commands, on
// the tiny reference fixture written out as feature files: every refusal names the file or line
// and has its code, and a refused command leaves the manifest exactly as it was.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManifestStore, encodeNpy, readNpy, selectBackend } from 'shared';
import { SHARED_STAGES } from 'shared/stages';
import type { CapturedRun } from 'shared/testing';
import { dispatchCaptured, dumpManifest } from 'shared/testing';
import { TINY, fixtureWorkspace } from './fixture.test-helper.js';
import { TRAIN_STAGES } from './index.js';

const STAGES = [...TRAIN_STAGES, ...SHARED_STAGES];

/** Runs `pthnet <args>` in-process with `config`; the exit code and what it printed on stdout and stderr. */
function pthnet(config: string, ...args: string[]): Promise<CapturedRun> {
  return dispatchCaptured(STAGES, [args[0] as string, '--config', config, ...args.slice(1)]);
}

describe('import-features and datasets on hostile feature lists and files', () => {
  let work: string;
  let config: string;
  const features = () => join(work, 'features');
  const file = (stride: number, clip: number) => join(features(), `th14_vit_g_16_${stride}`, `Scene/Emotion/000${clip}.npy`);

  beforeAll(async () => {
    ({ work, config } = await fixtureWorkspace('pthnet-hostile-import-', ['forward']));
    // The fixture is imported and packed: now break it the ways a download or an attacker would.
    const H = readNpy(file(4, 1));
    const rows = (await H).shape[0] as number;
    const D = (await H).shape[1] as number;
    const data = Float32Array.from((await H).data as Float32Array);
    data[D + 2] = Number.NaN;
    writeFileSync(file(4, 1), encodeNpy({ data, shape: [rows, D] })); // clip 1, level H: a NaN
    const M2 = await readNpy(file(8, 2));
    writeFileSync(file(8, 2), encodeNpy({ data: (M2.data as Float32Array).subarray(D), shape: [(M2.shape[0] as number) - 1, D] })); // clip 2, level M: a row short of its list
    const list4 = join(features(), 'th14_vit_g_16_4', 'train_All.txt');
    appendFileSync(list4, 'get_features/th14_vit_g_16_4/../../../evil.npy 3 1\n'); // climbs out of --root
    appendFileSync(list4, 'get_features/th14_vit_g_16_4/Scene/Emotion/0009.npy 3 9\n'); // label 9 of 7 classes
    appendFileSync(list4, `${readFileSync(list4, 'utf8').split('\n')[0]}\n`); // the first line again
    // clip 3 again, with another label (Surprise; the fixture says Neutral)
    appendFileSync(join(features(), 'th14_vit_g_16_8', 'train_All.txt'), 'get_features/th14_vit_g_16_8/Scene/Emotion/0003.npy 1 4\n');
    mkdirSync(join(features(), 'th14_vit_g_16_4', 'Scene/Emotion'), { recursive: true });
    writeFileSync(
      join(features(), 'th14_vit_g_16_4', 'Scene/Emotion/0009.npy'),
      encodeNpy({ data: new Float32Array(3 * D), shape: [3, D] }),
    );
  });

  it('refuses each bad line and file by name and reason before writing anything, records them, and exits 1', async () => {
    const imported = await pthnet(config, 'import-features', '--lists', features(), '--json');
    expect(imported.code).toBe(1);
    const summary = JSON.parse(imported.out) as {
      rejected: Array<{ file: string; line: number; reason: string; check?: string; detail: string; path?: string }>;
    };
    expect(summary.rejected.map((r) => [r.file, r.line, r.reason, r.check ?? null])).toEqual([
      ['th14_vit_g_16_4/train_All.txt', 6, 'path_escape', null],
      ['th14_vit_g_16_4/train_All.txt', 7, 'unknown_label', null],
      ['th14_vit_g_16_4/train_All.txt', 8, 'duplicate', null],
      ['th14_vit_g_16_16/train_All.txt', 4, 'duplicate', null],
      ['th14_vit_g_16_4/train_All.txt', 2, 'bad_features', 'not_finite'],
      ['th14_vit_g_16_8/train_All.txt', 3, 'bad_features', 'rows'],
    ]);
    const details = summary.rejected.map((r) => r.detail);
    expect(details[0]).toBe(
      'th14_vit_g_16_4/train_All.txt:6: expected a path inside its root, got "../../../evil", whose ".." segments lead outside it (the path "get_features/th14_vit_g_16_4/../../../evil.npy")',
    );
    expect(details[1]).toBe(
      "th14_vit_g_16_4/train_All.txt:7: clip Scene/Emotion/0009 (split train): label 9 not in 0..6 (the dataset's 7 classes)",
    );
    expect(details[2]).toBe('th14_vit_g_16_4/train_All.txt:8: clip Scene/Emotion/0000 listed twice (first at line 1): line ignored');
    expect(details[3]).toBe(
      'clip Scene/Emotion/0003 listed with different labels: 2 (Neutral) at th14_vit_g_16_16/train_All.txt:4, 2 (Neutral) at th14_vit_g_16_4/train_All.txt:4, 2 (Neutral) at th14_vit_g_16_8/train_All.txt:4, 4 (Surprise) at th14_vit_g_16_8/train_All.txt:6: left out',
    );
    expect(details[4]).toMatch(
      new RegExp(
        `^${file(4, 1)}: expected finite values, got 1 NaN or infinite \\(the first, NaN, at row 1, column 2\\) \\(listed at th14_vit_g_16_4/train_All.txt:2\\)$`,
      ),
    );
    expect(details[5]).toBe(
      `${file(8, 2)}: expected 2 rows (the window count its list gives), got 1 (listed at th14_vit_g_16_8/train_All.txt:3)`,
    );

    const problems = await pthnet(config, 'status', '--problems', '--json');
    const { ingestIssues } = JSON.parse(problems.out) as {
      ingestIssues: Array<{ reason: string; path: string | null; clipId: string | null }>;
    };
    expect(ingestIssues.map((i) => [i.reason, i.path ?? i.clipId])).toEqual([
      ['bad_features', file(4, 1)],
      ['bad_features', file(8, 2)],
      ['duplicate', join(features(), 'th14_vit_g_16_4/Scene/Emotion/0000.npy')],
      ['duplicate', 'Scene/Emotion/0003'],
      ['path_escape', '../../../evil'],
      ['unknown_label', 'Scene/Emotion/0009'],
    ]);
    // nothing outside --root, and no clip of a refused line, got into the manifest
    const store = await ManifestStore.open(join(work, 'data', 'manifest.sqlite'));
    try {
      expect((await store.clips.listClips()).map((c) => [c.id, c.split])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [`Scene/Emotion/000${i}`, i === 3 ? null : 'train']),
      );
      expect((await store.artifacts.listArtifacts({ kind: 'features' })).every((a) => a.path.startsWith(features()))).toBe(true);
      // the files registered before and refused now are failed, with the reason: nothing is packed from them
      expect(
        (await store.artifacts.listArtifacts({ kind: 'features', status: 'failed' })).map((a) => [
          a.path,
          a.error?.replace(/ \(listed at .*$/, ''),
        ]),
      ).toEqual([
        [file(4, 1), `InputError: ${file(4, 1)}: expected finite values, got 1 NaN or infinite (the first, NaN, at row 1, column 2)`],
        [file(8, 2), `InputError: ${file(8, 2)}: expected 2 rows (the window count its list gives), got 1`],
      ]);
    } finally {
      await store.close();
    }
  });

  it('datasets leaves out the clips whose files were refused and counts, on a rerun too, what it packed', async () => {
    // a registered file made unusable behind the manifest's back (same size: a big-endian header)
    const bytes = readFileSync(file(16, 4));
    writeFileSync(file(16, 4), Buffer.from(bytes.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1'));
    const first = await pthnet(config, 'datasets');
    expect(first.code).toBe(1);
    const lines = first.out.split('\n');
    expect(lines[0]).toBe('datasets raw_forward_train: built, 1 clips, 2 left out (a level missing), 1 left out (a feature file unusable)');
    expect(lines[1]).toBe(
      `  big_endian: ${file(16, 4)}: expected little-endian float32 ('<f4'), got big-endian '>f4' (clip Scene/Emotion/0004, level L)`,
    );
    const again = await pthnet(config, 'datasets');
    expect(again.out.split('\n')[0]).toBe(
      'datasets raw_forward_train: up-to-date, 1 clips, 2 left out (a level missing), 1 left out (a feature file unusable)',
    );
    const problems = await pthnet(config, 'status', '--problems');
    expect(problems.out).toContain(`  ferv39k unpackable_features: ${file(16, 4)}: expected little-endian float32`);
  });

  it('a list that does not parse, or --lists without feature folders, is refused before anything is recorded', async () => {
    const manifest = join(work, 'data', 'manifest.sqlite');
    const before = dumpManifest(manifest);
    const bad = join(work, 'bad-lists');
    mkdirSync(join(bad, 'th14_vit_g_16_4'), { recursive: true });
    writeFileSync(join(bad, 'th14_vit_g_16_4', 'train_All.txt'), 'Scene/Emotion/0000.npy 16\n');
    const empty = join(work, 'no-lists');
    mkdirSync(empty);
    const cases: Array<[string, RegExp]> = [
      [
        bad,
        /pthnet import-features: .*th14_vit_g_16_4\/train_All\.txt:1: expected '<npy path> <windows> <label>', got 'Scene\/Emotion\/0000\.npy 16'/,
      ],
      [empty, /pthnet import-features: --lists .*no-lists: expected folders named <tag>_16_<stride>\[_face\]\[_rv\], got none/],
    ];
    for (const [lists, message] of cases) {
      const refused = await pthnet(config, 'import-features', '--lists', lists);
      expect(refused.code, lists).toBe(1);
      expect(refused.err, lists).toMatch(message);
      expect(dumpManifest(manifest), lists).toBe(before);
    }
  });
});

describe('a refused train command changes nothing in the manifest', () => {
  let work: string;
  let config: string;

  beforeAll(async () => {
    await selectBackend('wasm');
    ({ work, config } = await fixtureWorkspace('pthnet-hostile-train-', ['forward']));
  });

  it('--resume with nothing to resume is refused before any record', async () => {
    const manifest = join(work, 'data', 'manifest.sqlite');
    const before = dumpManifest(manifest);
    const refused = await pthnet(config, 'train', '--direction', 'forward', '--epochs', '1', '--resume');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/pthnet train: --resume: expected a last checkpoint of the forward run in .*forward.*, got none/);
    expect(dumpManifest(manifest)).toBe(before);
  });

  it('after a good training: a bad --init, a folder, a missing file, a disagreeing network and --milestones 2,1 are refused before any record', async () => {
    const trainArgs = ['--direction', 'forward', '--epochs', '1', '--batch-size', '5'];
    expect((await pthnet(config, 'train', ...trainArgs)).code).toBe(0);
    const manifest = join(work, 'data', 'manifest.sqlite');
    const before = dumpManifest(manifest);
    const bad = join(work, 'bad.pth');
    writeFileSync(bad, 'PK\u0003\u0004 a zip that is not one');
    const wide = join(work, 'wide.config.json');
    writeFileSync(wide, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), train: { model: { n_embd: 96 } } }));
    const cases: Array<[string, string[], RegExp]> = [
      [config, ['--init', bad], new RegExp(`(^|\n)pthnet train: .*${bad}`)],
      [config, ['--init', work], new RegExp(`(^|\n)pthnet train: .*${work}.*(folder|directory)`)],
      [
        config,
        ['--init', join(work, 'gone.pth')],
        /(^|\n)pthnet train: train\.init \(--init\): expected an existing checkpoint, got ".*gone\.pth"/,
      ],
      [
        wide,
        ['--init', join(TINY, 'checkpoint_init.pth')],
        /(^|\n)pthnet train: train\.model\.n_embd: expected \d+ \(the --init checkpoint's network/,
      ],
      [
        config,
        ['--milestones', '2,1'],
        /pthnet train: invalid config:\n {2}train\.milestones \(--milestones\): expected strictly increasing epochs, got \[2,1\]/,
      ],
    ];
    for (const [file, flags, message] of cases) {
      const refused = await pthnet(file, 'train', ...trainArgs, ...flags);
      expect(refused.code, flags.join(' ')).toBe(1);
      expect(refused.err, flags.join(' ')).toMatch(message);
      expect(dumpManifest(manifest), flags.join(' ')).toBe(before);
    }
    // the good run is still the done one: nothing to do
    const again = await pthnet(config, 'train', ...trainArgs);
    expect(again.out).toBe('train forward: up-to-date');
  });
});
