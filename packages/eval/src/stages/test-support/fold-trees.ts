/**
 * Generated datasets with folds for the `cv` tests: a MAFW-shaped and a DFEW-shaped tree of tiny
 * frame folders with five folds of split lists, and a workspace (config, manifest) where they are
 * ingested and their features extracted with the tiny VideoMAE fixture, ready for `pthnet cv`.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dispatch } from 'shared/cli';
import { writePngFrames } from 'extract/testing';
import { EXTRACT_STAGES } from 'extract/stages';

const VIT_FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../../shared/fixtures/videomae/tiny/checkpoint.pth');
const SIDE = 16;
const FRAMES = 16;

/** One clip: its number, label index and the fold whose test list holds it (the train lists of the other folds hold it). */
export interface FoldClip {
  n: number;
  label: number;
  testFold: number;
}

/** `count` clips, labels cycling over `classes`, test folds cycling over 1..5. */
export function foldClips(count: number, classes: number): FoldClip[] {
  return Array.from({ length: count }, (_, i) => ({ n: i + 1, label: i % classes, testFold: (i % 5) + 1 }));
}

/** 16 frames whose brightness and motion depend on the label, so that the classes differ. */
async function writeClipFrames(dir: string, clip: FoldClip): Promise<void> {
  const rgb = new Uint8Array(FRAMES * SIDE * SIDE * 3);
  let i = 0;
  for (let f = 0; f < FRAMES; f++)
    for (let y = 0; y < SIDE; y++)
      for (let x = 0; x < SIDE; x++)
        for (let c = 0; c < 3; c++) rgb[i++] = (clip.label * 23 + f * (clip.label + 1) * 3 + x * 5 + y * 3 + c * 40 + clip.n) % 256;
  await writePngFrames(dir, rgb, SIDE, SIDE);
}

/** MAFW's 11 classes in the order of its label numbers (written out here, as a user reads them). */
export const MAFW_LABELS = [
  'anger',
  'disgust',
  'fear',
  'happiness',
  'neutral',
  'sadness',
  'surprise',
  'contempt',
  'anxiety',
  'helplessness',
  'disappointment',
];

const name5 = (n: number) => String(n).padStart(5, '0');

/**
 * MAFW: `data/frames/<00001>/`, `Train & Test Set/single/no_caption/set_<k>/{train,test}.txt`.
 * The lists mix the formats the layout accepts (`00001.mp4 4`, `2,happiness`), and fold 1's train
 * list has one line that fits none (line 2).
 */
export async function writeMafwTree(root: string, clips: readonly FoldClip[], labels: readonly string[]): Promise<void> {
  for (const clip of clips) await writeClipFrames(join(root, 'data/frames', name5(clip.n)), clip);
  for (let fold = 1; fold <= 5; fold++) {
    const dir = join(root, 'Train & Test Set/single/no_caption', `set_${fold}`);
    await mkdir(dir, { recursive: true });
    const train = clips.filter((c) => c.testFold !== fold).map((c) => `${name5(c.n)}.mp4 ${c.label + 1}`);
    if (fold === 1) train.splice(1, 0, 'this line fits no format at all');
    const test = clips.filter((c) => c.testFold === fold).map((c) => `${c.n},${labels[c.label]}`);
    await writeFile(join(dir, 'train.txt'), `${train.join('\n')}\n`);
    await writeFile(join(dir, 'test.txt'), `${test.join('\n')}\n`);
  }
}

/** DFEW: `Clip/original/<00001>/` frame folders, `EmoLabel_DataSplit/{train,test}(single-labeled)/set_<k>.csv`. */
export async function writeDfewTree(root: string, clips: readonly FoldClip[]): Promise<void> {
  for (const clip of clips) await writeClipFrames(join(root, 'Clip/original', name5(clip.n)), clip);
  for (let fold = 1; fold <= 5; fold++) {
    for (const [split, inSplit] of [
      ['train', (c: FoldClip) => c.testFold !== fold],
      ['test', (c: FoldClip) => c.testFold === fold],
    ] as const) {
      const dir = join(root, 'EmoLabel_DataSplit', `${split}(single-labeled)`);
      await mkdir(dir, { recursive: true });
      const lines = clips.filter(inSplit).map((c) => `${name5(c.n)},${c.label + 1}`);
      await writeFile(join(dir, `set_${fold}.csv`), `video_name,label\n${lines.join('\n')}\n`);
    }
  }
}

/**
 * The reference clip-list layout: `<root>/Scene/<class>/<id>/` frame folders and
 * `train_All.txt` / `test_All.txt` with lines `<path> <frames> <label index>`, `perClass` clips
 * of each class in each list.
 */
export async function writeReferenceListTree(
  root: string,
  classes: readonly string[],
  perClass: { train: number; test: number },
): Promise<void> {
  let n = 0;
  for (const split of ['train', 'test'] as const) {
    const lines: string[] = [];
    for (const [label, name] of classes.entries()) {
      for (let i = 0; i < perClass[split]; i++) {
        n += 1;
        const id = `Scene/${name}/${String(n).padStart(4, '0')}`;
        await writeClipFrames(join(root, id), { n, label, testFold: 0 });
        lines.push(`/home/authors/faces/${id} ${FRAMES} ${label}`);
      }
    }
    await writeFile(join(root, `${split}_All.txt`), `${lines.join('\n')}\n`);
  }
}

/**
 * A work folder with a dataset (an `ingest.datasets` entry, or one made from the tree's root)
 * ingested and its features extracted (tiny ViT), and a config for fast training, `eval` and `cv`.
 */
export async function foldWorkspace(
  entry:
    | (Record<string, unknown> & { name: string; layout: string })
    | ((root: string) => Record<string, unknown> & { name: string; layout: string }),
  writeTree: (root: string) => Promise<void>,
  /** The tree holds a bad line on purpose: ingest records it and exits 1 (and goes on with the rest). */
  ingestIssues = false,
): Promise<{ work: string; config: string; data: string }> {
  const work = await mkdtemp(join(tmpdir(), 'pthnet-classes-'));
  const root = join(work, 'source');
  const dataset = typeof entry === 'function' ? entry(root) : entry;
  await writeTree(root);
  const config = join(work, 'pthnet.config.json');
  const data = join(work, 'data');
  await writeFile(
    config,
    JSON.stringify({
      dataDir: data,
      backend: 'wasm',
      workers: 1,
      ingest: { datasets: [{ ...dataset, root }] },
      extract: {
        tag: 'tiny',
        batchSize: 32,
        backbone: { preset: 'custom', checkpoint: VIT_FIXTURE, custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 } },
      },
      train: { epochs: 1, batchSize: 8, lr: 0.01, milestones: [5], dropPath: 0, model: { n_embd: 32, mlp_dim: 24 } },
      eval: { mu: 0.5 },
    }),
  );
  for (const stage of ['ingest', 'extract']) {
    const code = await dispatch(EXTRACT_STAGES, [stage, '--config', config]);
    const expected = stage === 'ingest' && ingestIssues ? 1 : 0;
    if (code !== expected)
      throw new Error(`pthnet ${stage} on the generated ${dataset.layout} tree exited with ${code}, expected ${expected}`);
  }
  return { work, config, data };
}
