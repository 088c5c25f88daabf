import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, createRng, encodeNpy, readNpy } from 'shared';
import { LEVELS, LEVEL_LENGTHS, LEVEL_STRIDES } from '../sampling/constants.js';
import type { Batch, Level } from '../sampling/types.js';
import { joinFeatureLists, readFeatureList } from './feature-list.js';
import { makeBatch } from './make-batch.js';
import { buildPackedDataset, openPackedDataset, packedIndexPath } from './packed.js';
import type { PackedIndex } from './types.js';
import { fixturesDir } from 'shared';

const FIXTURES = fixturesDir();
const TINY = path.join(FIXTURES, 'pthnet/tiny');
const LABEL_NAMES = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];
const SCENES = ['Action', 'DailyLife', 'Interview', 'Social', 'Crime'];
const B = 5;
const D = 48;

interface Fixture {
  input: Record<Level, Float32Array>; // [B, D, T]
  mask: Record<Level, Uint8Array>; // [B, 1, T]
  lengths: Record<Level, number[]>;
  labels: number[];
  ids: string[];
}

async function loadFixture(): Promise<Fixture> {
  const input = {} as Record<Level, Float32Array>;
  const mask = {} as Record<Level, Uint8Array>;
  const lengths = {} as Record<Level, number[]>;
  for (const level of LEVELS) {
    const x = await readNpy(path.join(TINY, `input_${level}.npy`));
    const m = await readNpy(path.join(TINY, `mask_${level}.npy`));
    expect(x.dtype).toBe('float32');
    expect(x.shape).toEqual([B, D, LEVEL_LENGTHS[level]]);
    expect(m.dtype).toBe('bool');
    expect(m.shape).toEqual([B, 1, LEVEL_LENGTHS[level]]);
    input[level] = x.data as Float32Array;
    mask[level] = m.data as Uint8Array;
    const T = LEVEL_LENGTHS[level];
    lengths[level] = Array.from({ length: B }, (_, b) => mask[level].subarray(b * T, (b + 1) * T).reduce((s, v) => s + v, 0));
  }
  const y = await readNpy(path.join(TINY, 'labels.npy'));
  expect(y.dtype).toBe('int64');
  const labels = Array.from(y.data as BigInt64Array, Number);
  const expected = JSON.parse(await readFile(path.join(TINY, 'expected.json'), 'utf8')) as { lengths_H: number[] };
  expect(lengths.H).toEqual(expected.lengths_H);
  const ids = labels.map((label, b) => `${SCENES[b]}/${LABEL_NAMES[label]}/${String(100 + 17 * b).padStart(4, '0')}`);
  return { input, mask, lengths, labels, ids };
}

/** Fixture clip b's real time steps at a level, back in the file layout `[n, D]`. */
function fixtureRows(fixture: Fixture, level: Level, b: number): Float32Array {
  const T = LEVEL_LENGTHS[level];
  const n = fixture.lengths[level][b] as number;
  const rows = new Float32Array(n * D);
  for (let t = 0; t < n; t++) for (let c = 0; c < D; c++) rows[t * D + c] = fixture.input[level][(b * D + c) * T + t] as number;
  return rows;
}

const featureFile = (root: string, level: Level, id: string): string =>
  path.join(root, 'features', `th14_vit_g_16_${LEVEL_STRIDES[level]}`, `${id}.npy`);

async function writeFeature(file: string, rows: Float32Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, encodeNpy({ data: rows, shape: [rows.length / D, D] }));
}

/** Reference feature list lines `<npy path> <windows> <label>`, paths relative to `root`. */
async function writeList(root: string, level: Level, lines: Array<{ id: string; windows: number; label: number }>): Promise<string> {
  const folder = `th14_vit_g_16_${LEVEL_STRIDES[level]}`;
  const file = path.join(root, 'annotations', folder, 'test_All.txt');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, lines.map((line) => `features/${folder}/${line.id}.npy ${line.windows} ${line.label}\n`).join(''));
  return file;
}

function expectBatchEqualsFixture(batch: Batch, fixture: Fixture): void {
  const x = { H: batch.x_H, M: batch.x_M, L: batch.x_L };
  const m = { H: batch.m_H, M: batch.m_M, L: batch.m_L };
  for (const level of LEVELS) {
    expect(x[level].shape).toEqual([B, D, LEVEL_LENGTHS[level]]);
    expect(m[level].shape).toEqual([B, 1, LEVEL_LENGTHS[level]]);
    // Exact: sampling only copies values.
    expect(x[level].data).toEqual(fixture.input[level]);
    expect(m[level].data).toEqual(fixture.mask[level]);
  }
  expect(Array.from(batch.y.data)).toEqual(fixture.labels);
}

let fixture: Fixture;
let tmp: string;

beforeAll(async () => {
  fixture = await loadFixture();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pthnet-packed-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('packed dataset vs the reference eval batch (fixtures/pthnet/tiny)', () => {
  it('per-clip .npy files + reference lists -> packed -> eval batch equals the fixture tensors', async () => {
    const root = path.join(tmp, 'plain');
    const lists = {} as Record<Level, string>;
    for (const level of LEVELS) {
      for (let b = 0; b < B; b++) await writeFeature(featureFile(root, level, fixture.ids[b]!), fixtureRows(fixture, level, b));
      lists[level] = await writeList(
        root,
        level,
        fixture.ids.map((id, b) => ({ id, windows: fixture.lengths[level][b]!, label: fixture.labels[b]! })),
      );
    }
    const joined = joinFeatureLists({
      H: await readFeatureList(lists.H, { baseDir: root }),
      M: await readFeatureList(lists.M, { baseDir: root }),
      L: await readFeatureList(lists.L, { baseDir: root }),
    });
    expect(joined.missing).toEqual([]);
    expect(joined.clips.map((clip) => clip.id)).toEqual(fixture.ids);

    const outDir = path.join(root, 'packed');
    const result = await buildPackedDataset({ clips: joined.clips, outDir, name: 'test_All.forward', labelNames: LABEL_NAMES });
    expect(result.size).toBe(B);
    expect(result.D).toBe(D);
    expect(result.skipped).toEqual([]);
    expect(result.rowCountMismatches).toEqual([]);
    // H 16+9+3+1+12 rows, M 8+5+2+1+6, L 4+3+1+1+3
    expect(result.rows).toEqual({ H: 41, M: 22, L: 12 });

    const index = JSON.parse(await readFile(packedIndexPath(outDir, 'test_All.forward'), 'utf8')) as PackedIndex;
    expect(index.levels.H.counts).toEqual([16, 9, 3, 1, 12]);
    expect(index.levels.H.offsets).toEqual([0, 16, 25, 28, 29]);
    expect(index.levels.L.counts).toEqual([4, 3, 1, 1, 3]);
    expect(index.labelNames).toEqual(LABEL_NAMES);

    // The data file is a plain .npy: read it back whole and check clip 1's H rows.
    const dataH = await readNpy(result.dataPaths.H);
    expect(dataH.shape).toEqual([41, D]);
    expect((dataH.data as Float32Array).subarray(16 * D, 25 * D)).toEqual(fixtureRows(fixture, 'H', 1));

    for (const preload of [true, false]) {
      const dataset = await openPackedDataset(outDir, 'test_All.forward', { preload });
      expect(dataset.size).toBe(B);
      expect(dataset.clipIds).toEqual(fixture.ids);
      expect(Array.from(dataset.labels)).toEqual(fixture.labels);
      expect(dataset.rowCount('M', 4)).toBe(6);
      expect(dataset.rows('M', 4)).toEqual(fixtureRows(fixture, 'M', 4));
      expectBatchEqualsFixture(makeBatch(dataset, [0, 1, 2, 3, 4], { mode: 'eval' }), fixture);
      await dataset.close();
    }
  });

  it('longer clips: the eval rows (start + floor(seg / 2)) land exactly on the fixture steps', async () => {
    // Clips whose fixture level is full get more rows than T: the fixture values go to the rows
    // eval mode picks, a marker value everywhere else, so any other pick shows.
    const longer: Record<Level, number> = { H: 40, M: 20, L: 10 }; // seg 2.5 at every level
    // Worked by hand: starts round(2.5 i) half-even = 0, 2, 5, 8, 10, 12, 15, 18, ... plus floor(1.25) = 1.
    const evalRows = [1, 3, 6, 9, 11, 13, 16, 19, 21, 23, 26, 29, 31, 33, 36, 39];
    const root = path.join(tmp, 'longer');
    const lines = { H: [], M: [], L: [] } as Record<Level, Array<{ id: string; windows: number; label: number }>>;
    for (const level of LEVELS) {
      const T = LEVEL_LENGTHS[level];
      for (let b = 0; b < B; b++) {
        const id = fixture.ids[b]!;
        const real = fixtureRows(fixture, level, b);
        let rows = real;
        if (fixture.lengths[level][b] === T) {
          const n = longer[level];
          rows = new Float32Array(n * D).fill(12345);
          evalRows.slice(0, T).forEach((row, t) => {
            rows.set(real.subarray(t * D, (t + 1) * D), row * D);
          });
        }
        await writeFeature(featureFile(root, level, id), rows);
        lines[level].push({ id, windows: rows.length / D, label: fixture.labels[b]! });
      }
    }
    const lists = {} as Record<Level, Awaited<ReturnType<typeof readFeatureList>>>;
    for (const level of LEVELS) lists[level] = await readFeatureList(await writeList(root, level, lines[level]), { baseDir: root });
    const outDir = path.join(root, 'packed');
    const result = await buildPackedDataset({ clips: joinFeatureLists(lists).clips, outDir, name: 'longer' });
    // Clip 0 is full at every level, clip 4 at none: H 40+9+3+1+12, M 20+5+2+1+6, L 10+3+1+1+3
    expect(result.rows).toEqual({ H: 65, M: 34, L: 18 });
    const dataset = await openPackedDataset(outDir, 'longer');
    expectBatchEqualsFixture(makeBatch(dataset, [0, 1, 2, 3, 4], { mode: 'eval' }), fixture);

    // Train mode on the same clip picks rows inside the segments, so some marker rows show up.
    const train = makeBatch(dataset, [0], { mode: 'train', rng: createRng(4), noise: 0 });
    const picked = Array.from({ length: 16 }, (_, t) => train.x_H.data[t]);
    expect(picked.some((value) => value === 12345)).toBe(true);
    await dataset.close();
  });

  it('lists in different orders and a clip missing from one level: joined by id, never by line', async () => {
    const root = path.join(tmp, 'shuffled');
    const extraId = 'Crime/Sad/0999';
    const lines = { H: [], M: [], L: [] } as Record<Level, Array<{ id: string; windows: number; label: number }>>;
    for (const level of LEVELS) {
      for (let b = 0; b < B; b++) {
        await writeFeature(featureFile(root, level, fixture.ids[b]!), fixtureRows(fixture, level, b));
        lines[level].push({ id: fixture.ids[b]!, windows: fixture.lengths[level][b]!, label: fixture.labels[b]! });
      }
      if (level !== 'M') {
        // The extra clip exists at H and L only (a short DFEW-style clip dropped from one list).
        await writeFeature(featureFile(root, level, extraId), new Float32Array(2 * D).fill(7));
        lines[level].push({ id: extraId, windows: 2, label: 1 });
      }
    }
    const orders: Record<Level, number[]> = { H: [3, 5, 0, 4, 1, 2], M: [4, 2, 0, 1, 3], L: [1, 0, 5, 3, 2, 4] };
    const lists = {} as Record<Level, Awaited<ReturnType<typeof readFeatureList>>>;
    for (const level of LEVELS) {
      const shuffled = orders[level].map((i) => lines[level][i]!);
      lists[level] = await readFeatureList(await writeList(root, level, shuffled), { baseDir: root });
    }
    // Line-number pairing would have matched M's line 1 (clip 4) with H's line 1 (clip 3).
    expect(lists.H.entries[0]!.clipId).toBe(fixture.ids[3]);
    expect(lists.M.entries[0]!.clipId).toBe(fixture.ids[4]);

    const joined = joinFeatureLists(lists);
    expect(joined.missing).toEqual([{ id: extraId, missingFrom: ['M'] }]);
    expect(joined.labelConflicts).toEqual([]);
    // H-list order, without the extra clip
    const expectedOrder = [3, 0, 4, 1, 2];
    expect(joined.clips.map((clip) => clip.id)).toEqual(expectedOrder.map((b) => fixture.ids[b]));
    expect(joined.clips[0]!.levels.M).toBe(featureFile(root, 'M', fixture.ids[3]!));
    expect(joined.clips[0]!.windows).toEqual({ H: 1, M: 1, L: 1 });

    const outDir = path.join(root, 'packed');
    await buildPackedDataset({ clips: joined.clips, outDir, name: 'shuffled' });
    const dataset = await openPackedDataset(outDir, 'shuffled');
    const positionOf = fixture.ids.map((id) => dataset.clipIds.indexOf(id));
    expect(positionOf).toEqual([1, 3, 4, 0, 2]);
    expectBatchEqualsFixture(makeBatch(dataset, positionOf, { mode: 'eval' }), fixture);
    await dataset.close();
  });
});

describe('buildPackedDataset edge cases', () => {
  const rowsOf = (n: number, value: number, width = D): Float32Array => new Float32Array(n * width).fill(value);

  it('leaves out and reports clips whose level file is missing or empty; flags list/file row mismatches', async () => {
    const root = path.join(tmp, 'gaps');
    const clip = (id: string, label: number) => ({
      id,
      label,
      levels: { H: featureFile(root, 'H', id), M: featureFile(root, 'M', id), L: featureFile(root, 'L', id) },
    });
    for (const level of LEVELS) {
      await writeFeature(featureFile(root, level, 'A/Happy/0001'), rowsOf(3, 1));
      if (level !== 'L') await writeFeature(featureFile(root, level, 'A/Sad/0002'), rowsOf(2, 2));
      await writeFeature(featureFile(root, level, 'A/Fear/0003'), rowsOf(level === 'M' ? 0 : 4, 3));
      await writeFeature(featureFile(root, level, 'A/Angry/0004'), rowsOf(5, 4));
    }
    // float64 features are narrowed to float32 (the reference does `.astype(np.float32)`)
    await writeFile(featureFile(root, 'M', 'A/Angry/0004'), encodeNpy({ data: new Float64Array(5 * D).fill(1 / 3), shape: [5, D] }));
    // a truncated file is reported as unreadable
    const cut = encodeNpy({ data: rowsOf(3, 5), shape: [3, D] });
    await writeFile(featureFile(root, 'H', 'A/Fear/0003'), cut.subarray(0, cut.length - 4));
    const result = await buildPackedDataset({
      clips: [
        clip('A/Happy/0001', 0),
        clip('A/Sad/0002', 1),
        clip('A/Fear/0003', 6),
        { ...clip('A/Angry/0004', 3), windows: { H: 5, M: 6 } },
      ],
      outDir: path.join(root, 'packed'),
      name: 'gaps',
    });
    expect(result.size).toBe(2);
    expect(result.skipped.map(({ id, level, reason }) => ({ id, level, reason }))).toEqual([
      { id: 'A/Sad/0002', level: 'L', reason: 'missing-file' },
      { id: 'A/Fear/0003', level: 'H', reason: 'unreadable' },
      { id: 'A/Fear/0003', level: 'M', reason: 'empty' },
    ]);
    expect(result.skipped[1]!.detail).toMatch(/0003\.npy: expected \d+ bytes for shape \(3, 48\) <f4, got \d+ \(truncated\)/);
    expect(result.skipped.map((s) => s.check)).toEqual(['missing', 'size', 'empty']);
    expect(result.rowCountMismatches).toEqual([
      { id: 'A/Angry/0004', level: 'M', path: featureFile(root, 'M', 'A/Angry/0004'), listed: 6, actual: 5 },
    ]);
    const dataset = await openPackedDataset(path.join(root, 'packed'), 'gaps');
    expect(dataset.clipIds).toEqual(['A/Happy/0001', 'A/Angry/0004']);
    expect(Array.from(dataset.labels)).toEqual([0, 3]);
    expect(Array.from(dataset.rows('L', 1).subarray(0, 3))).toEqual([4, 4, 4]);
    expect(dataset.rowCount('H', 1)).toBe(5);
    expect(dataset.rows('M', 1)).toEqual(new Float32Array(5 * D).fill(1 / 3));
    await dataset.close();
  });

  it('refuses different feature widths, naming the file', async () => {
    const root = path.join(tmp, 'widths');
    const id = 'B/Happy/0001';
    for (const level of LEVELS) {
      const width = level === 'L' ? 32 : D;
      const file = featureFile(root, level, id);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, encodeNpy({ data: rowsOf(2, 1, width), shape: [2, width] }));
    }
    const clips = [
      { id, label: 0, levels: { H: featureFile(root, 'H', id), M: featureFile(root, 'M', id), L: featureFile(root, 'L', id) } },
    ];
    const attempt = buildPackedDataset({ clips, outDir: path.join(root, 'packed'), name: 'widths' });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(buildPackedDataset({ clips, outDir: path.join(root, 'packed'), name: 'widths' })).rejects.toThrow(
      /th14_vit_g_16_16\/B\/Happy\/0001\.npy: expected D = 48 .* got D = 32/,
    );
  });

  it('rebuilding replaces the data files atomically and removes the old build', async () => {
    const root = path.join(tmp, 'rebuild');
    const id = 'C/Happy/0001';
    const levels = { H: featureFile(root, 'H', id), M: featureFile(root, 'M', id), L: featureFile(root, 'L', id) };
    for (const level of LEVELS) await writeFeature(levels[level], rowsOf(2, 1));
    const outDir = path.join(root, 'packed');
    const first = await buildPackedDataset({ clips: [{ id, label: 2, levels }], outDir, name: 'ds' });
    for (const level of LEVELS) await writeFeature(levels[level], rowsOf(3, 9));
    const second = await buildPackedDataset({ clips: [{ id, label: 2, levels }], outDir, name: 'ds' });
    expect(second.dataPaths.H).not.toBe(first.dataPaths.H);
    const files = (await readdir(outDir)).sort();
    expect(files).toEqual(['ds.index.json', ...LEVELS.map((level) => path.basename(second.dataPaths[level]))].sort());
    const dataset = await openPackedDataset(outDir, 'ds');
    expect(dataset.rowCount('H', 0)).toBe(3);
    expect(dataset.rows('H', 0)[0]).toBe(9);
    await dataset.close();
  });

  it('refuses a bad name, duplicate ids, and a tampered index', async () => {
    await expect(buildPackedDataset({ clips: [], outDir: tmp, name: '../evil' })).rejects.toThrow(/'name': expected letters/);
    const levels = { H: 'a.npy', M: 'b.npy', L: 'c.npy' };
    await expect(
      buildPackedDataset({
        clips: [
          { id: 'x', label: 0, levels },
          { id: 'x', label: 1, levels },
        ],
        outDir: tmp,
        name: 'dup',
      }),
    ).rejects.toThrow(/expected unique ids, got "x" twice/);

    const outDir = path.join(tmp, 'rebuild', 'packed');
    const indexPath = packedIndexPath(outDir, 'ds');
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as Record<string, unknown> & { levels: { M: { counts: number[] } } };
    index.levels.M.counts = [4];
    await writeFile(path.join(outDir, 'bad.index.json'), JSON.stringify(index));
    await expect(openPackedDataset(outDir, 'bad')).rejects.toThrow(/'levels\.M\.rows': expected 4 \(sum of counts\), got 3/);
    await expect(openPackedDataset(outDir, 'absent')).rejects.toThrow(/cannot read packed index .*absent\.index\.json/);
  });
});
