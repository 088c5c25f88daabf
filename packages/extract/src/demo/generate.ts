import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { ConfigError, InputError, TEMP_FILE_PATTERN, isProcessAlive, tempPathFor } from 'shared';
import { demoContentConfig, validateDemoConfig } from './config.js';
import {
  DEMO_GENERATOR_VERSION,
  DEMO_LABELS,
  DEMO_MARKER_FILE,
  DEMO_MARKER_FORMAT,
  DEMO_SCENES,
  FACE_DIR,
  RAW_DIR,
  SETUPS_DIR,
  SPLIT_LIST_NAMES,
} from './constants.js';
import { resolveMediaBinaries } from '../probe/binaries.js';
import { assertFfmpegExecutable, writeDemoFrameFolder, writeDemoVideo } from './encode.js';
import { planDemoDataset } from './plan.js';
import { renderDemoClip } from './render.js';
import type {
  DemoClip,
  DemoClipPlan,
  DemoConfigInput,
  DemoContentConfig,
  DemoDataset,
  DemoMarker,
  DemoSplit,
  DemoStorage,
} from './types.js';

type MarkerClip = DemoMarker['clips'][number];

function clipRelativePath(base: string, id: string, storage: DemoStorage): string {
  return path.posix.join(base, storage === 'video' ? `${id}.mp4` : id);
}

function markerClip(plan: DemoClipPlan): MarkerClip {
  return {
    id: plan.id,
    split: plan.split,
    label: plan.label,
    labelName: DEMO_LABELS[plan.label] as string,
    scene: plan.scene,
    frames: plan.frames,
    rawPath: clipRelativePath(RAW_DIR, plan.id, plan.rawStorage),
    rawStorage: plan.rawStorage,
    facePath: clipRelativePath(FACE_DIR, plan.id, plan.faceStorage),
    faceStorage: plan.faceStorage,
  };
}

function toDataset(root: string, marker: DemoMarker, generated: boolean): DemoDataset {
  return {
    root,
    labels: [...marker.labels],
    clips: marker.clips.map(
      (clip): DemoClip => ({ ...clip, rawPath: path.join(root, clip.rawPath), facePath: path.join(root, clip.facePath) }),
    ),
    generated,
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function readMarker(root: string): Promise<DemoMarker | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(root, DEMO_MARKER_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const marker = JSON.parse(text) as DemoMarker;
    return marker?.format === DEMO_MARKER_FORMAT ? marker : undefined;
  } catch {
    // A marker we cannot parse is not ours to trust; the folder counts as foreign.
    return undefined;
  }
}

/** The dataset at `root` if it is complete and was made by this generator version from `content`. */
async function completeDataset(root: string, content: DemoContentConfig): Promise<DemoDataset | undefined> {
  const marker = await readMarker(root);
  if (!marker || marker.version !== DEMO_GENERATOR_VERSION) return undefined;
  if (JSON.stringify(marker.config) !== JSON.stringify(content)) return undefined;
  for (const clip of marker.clips) {
    if (!(await exists(path.join(root, clip.rawPath))) || !(await exists(path.join(root, clip.facePath)))) return undefined;
  }
  return toDataset(root, marker, false);
}

/** Throws unless `root` is absent, an empty folder, or a demo dataset of ours (any config): the only things we may replace. */
async function assertReplaceable(root: string): Promise<void> {
  let entries: string[];
  try {
    const info = await stat(root);
    if (!info.isDirectory())
      throw new ConfigError(`demo config root: expected a folder to create the demo dataset in, got the file ${root}`);
    entries = await readdir(root);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return;
  }
  if (entries.length === 0 || (await readMarker(root))) return;
  throw new ConfigError(
    `demo config root: expected an empty folder or an earlier demo dataset (holding ${DEMO_MARKER_FILE}), got ${root} with other files; pick another root`,
  );
}

async function writeClip(
  plan: DemoClipPlan,
  clip: MarkerClip,
  folder: string,
  size: number,
  fps: number,
  ffmpegPath: string,
): Promise<void> {
  const views = renderDemoClip(plan, size);
  const write = (storage: DemoStorage, view: typeof views.raw, relative: string): Promise<void> =>
    storage === 'video'
      ? writeDemoVideo(ffmpegPath, view, fps, path.join(folder, relative))
      : writeDemoFrameFolder(ffmpegPath, view, fps, path.join(folder, relative));
  await write(clip.rawStorage, views.raw, clip.rawPath);
  await write(clip.faceStorage, views.face, clip.facePath);
}

async function writeSplitLists(folder: string, clips: readonly MarkerClip[]): Promise<void> {
  const listDir = path.join(folder, SETUPS_DIR);
  await mkdir(listDir, { recursive: true });
  for (const split of Object.keys(SPLIT_LIST_NAMES) as DemoSplit[]) {
    const lines = clips.filter((clip) => clip.split === split).map((clip) => `${clip.id} ${clip.labelName}\n`);
    await writeFile(path.join(listDir, SPLIT_LIST_NAMES[split]), lines.join(''));
  }
}

/** Removes half-written datasets (`<root>.<pid>.<random>.tmp`) of generator processes that died. */
async function removeAbandonedFolders(root: string): Promise<void> {
  const parent = path.dirname(root);
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const match = TEMP_FILE_PATTERN.exec(entry.name);
    if (!entry.isDirectory() || !match || match[1] !== path.basename(root)) continue;
    const pid = Number(match[2]);
    if (pid !== process.pid && !isProcessAlive(pid)) await rm(path.join(parent, entry.name), { recursive: true, force: true });
  }
}

/**
 * Moves the finished `folder` to `root`, replacing an earlier demo dataset there. If another
 * process finished the same dataset first, keeps theirs; if the move fails otherwise, puts the
 * earlier dataset back.
 */
async function publish(folder: string, root: string, content: DemoContentConfig, marker: DemoMarker): Promise<DemoDataset> {
  const stale = tempPathFor(root);
  let moved = false;
  if (await exists(root)) {
    await rename(root, stale);
    moved = true;
  }
  try {
    await rename(folder, root);
  } catch (error) {
    const theirs = await completeDataset(root, content);
    if (theirs) {
      await rm(folder, { recursive: true, force: true });
      if (moved) await rm(stale, { recursive: true, force: true });
      return theirs;
    }
    if (moved) await rename(stale, root).catch(() => undefined);
    throw new InputError(`demo dataset: could not move the finished dataset ${folder} to ${root}`, root, { cause: error });
  }
  if (moved) await rm(stale, { recursive: true, force: true });
  return toDataset(root, marker, true);
}

/**
 * Generates the synthetic demo dataset (7 classes, FERV39k layout) under `root`, offline and
 * deterministically from `seed`: the same config gives byte-identical files.
 *
 * Layout: `0_7_LabelClips/<Scene>/<Emotion>/<ID>.mp4` or `<ID>/0001.png...` (raw frames),
 * `2_ClipsforFaceCrop/<Scene>/<Emotion>/<ID>/...` or `<ID>.mp4` (face crops),
 * `4_setups/All_scenes/{train_All,test_All}.csv` (`Scene/Emotion/ID Emotion`), and
 * `demo.json` (config, label order, clip list), written last.
 *
 * The dataset is built in a sibling temp folder and renamed into place when complete, so
 * `root` is never half-written. A complete dataset with the same content config already at
 * `root` is returned as is (`generated: false`); an earlier demo dataset with another config
 * is replaced; a folder holding anything else is refused. Half-written folders left beside
 * `root` by generator processes that died are removed.
 */
export async function generateDemoDataset(input: DemoConfigInput): Promise<DemoDataset> {
  const config = validateDemoConfig(input);
  const content = demoContentConfig(config);
  const root = config.root;

  const existing = await completeDataset(root, content);
  if (existing) return existing;
  await assertReplaceable(root);

  const ffmpegPath = config.ffmpegPath ?? resolveMediaBinaries().ffmpeg;
  await assertFfmpegExecutable(ffmpegPath);
  const plans = planDemoDataset(content);
  const clips = plans.map(markerClip);
  const marker: DemoMarker = {
    format: DEMO_MARKER_FORMAT,
    version: DEMO_GENERATOR_VERSION,
    config: content,
    labels: [...DEMO_LABELS],
    scenes: [...DEMO_SCENES],
    clips,
  };

  await mkdir(path.dirname(root), { recursive: true });
  await removeAbandonedFolders(root);
  const folder = tempPathFor(root);
  await mkdir(folder);
  try {
    const queue = new PQueue({ concurrency: config.concurrency });
    let done = 0;
    const jobs = plans.map((plan, i) =>
      queue.add(async () => {
        const clip = clips[i] as MarkerClip;
        await writeClip(plan, clip, folder, config.size, config.fps, ffmpegPath);
        done += 1;
        config.onProgress?.({ done, total: plans.length, clipId: clip.id });
      }),
    );
    try {
      await Promise.all(jobs);
    } catch (error) {
      // Cleared jobs never settle; wait only for the ones already running before removing the folder.
      queue.clear();
      await queue.onIdle();
      throw error;
    }
    await writeSplitLists(folder, clips);
    await writeFile(path.join(folder, DEMO_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
    return await publish(folder, root, content, marker);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
