import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManifestStore, encodeNpy, featureIdentity, hashBytes } from 'shared';
import * as check from '../feature-check/check-file.js';
import { importFeatures } from './importFeatures.js';

// Every feature file import-features reads goes through `checkFeatureFile` (checked and hashed in
// one read): counting its calls counts the files read.
vi.mock('../feature-check/check-file.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../feature-check/check-file.js')>();
  return { ...original, checkFeatureFile: vi.fn(original.checkFeatureFile) };
});
const hashed = vi.mocked(check.checkFeatureFile);

const FOLDER = 'th14_vit_g_16_4';
const CLIPS = ['Action/Happy/0001', 'Action/Sad/0002', 'Party/Angry/0003'];
/** Whole seconds: an mtime that can be set back exactly. */
const T0 = 1_700_000_000;

/** One window of 2-wide features holding `value`: the same size whatever the value. */
const features = (value: number) => encodeNpy({ data: Float32Array.of(value, value + 0.5), shape: [1, 2] });

/** Three clips' stride-4 features and their list. */
function makeFeatures(root: string): string[] {
  const files = CLIPS.map((clip) => join(root, FOLDER, `${clip}.npy`));
  files.forEach((file, i) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, features(i));
    utimesSync(file, T0, T0);
  });
  mkdirSync(join(root, 'lists', FOLDER), { recursive: true });
  writeFileSync(join(root, 'lists', FOLDER, 'train_All.txt'), CLIPS.map((clip, i) => `x/${FOLDER}/${clip}.npy 1 ${i}\n`).join(''));
  return files;
}

describe('import-features decides unchanged by stamp (size, mtime, inode)', () => {
  let root: string;
  let store: ManifestStore;
  let files: string[];
  const run = async (rehash = false) => {
    hashed.mockClear();
    const summary = await importFeatures(store, { listsDir: join(root, 'lists'), root, dataset: 'ferv39k', rehash });
    const [folder] = summary.folders;
    return { registered: folder?.registered, unchanged: folder?.unchanged, read: hashed.mock.calls.length };
  };
  const recorded = async (clip: number) => await store.artifacts.getArtifact(featureIdentity(CLIPS[clip] as string, 'forward', 4, 'raw'));

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'pthnet-import-stamps-'));
    files = makeFeatures(root);
    store = await ManifestStore.open(join(root, 'manifest.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('an unchanged rerun reads no feature file; a touched file is hashed again and not re-imported', async () => {
    expect(await run()).toEqual({ registered: 3, unchanged: 0, read: 3 });
    expect(await recorded(1)).toMatchObject({ status: 'done', contentHash: hashBytes(features(1)), bytes: features(1).length });
    expect(await run()).toEqual({ registered: 0, unchanged: 3, read: 0 });

    // touched: same content, the stamp moved: read once to be sure, then known by its new stamp
    utimesSync(files[1] as string, T0 + 60, T0 + 60);
    const before = await recorded(1);
    expect(await run()).toEqual({ registered: 0, unchanged: 3, read: 1 });
    expect(hashed.mock.calls[0]?.[0]).toBe(files[1]);
    expect(await recorded(1)).toMatchObject({ contentHash: before?.contentHash, cacheKey: before?.cacheKey });
    expect((await recorded(1))?.fileStamp).not.toBe(before?.fileStamp);
    expect(await run()).toEqual({ registered: 0, unchanged: 3, read: 0 });

    // changed, with its stamp: read and registered again with the new hash
    writeFileSync(files[2] as string, features(9));
    expect(await run()).toEqual({ registered: 1, unchanged: 2, read: 1 });
    expect((await recorded(2))?.contentHash).toBe(hashBytes(features(9)));
  });

  it('a same-size rewrite that keeps mtime and inode goes unnoticed without --rehash, and is found with it', async () => {
    await run();
    const file = files[0] as string;
    const stamp = statSync(file, { bigint: true });
    writeFileSync(file, features(7));
    utimesSync(file, T0, T0);
    const after = statSync(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([stamp.size, stamp.mtimeNs, stamp.ino]);

    expect(await run()).toEqual({ registered: 0, unchanged: 3, read: 0 });
    expect((await recorded(0))?.contentHash).toBe(hashBytes(features(0)));
    expect(await run(true)).toEqual({ registered: 1, unchanged: 2, read: 3 });
    expect((await recorded(0))?.contentHash).toBe(hashBytes(features(7)));
  });
});
