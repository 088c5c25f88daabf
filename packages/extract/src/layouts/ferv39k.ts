import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { boolean, pathOption, subsetOf } from './config.js';
import { DEFAULT_LABELS, DEFAULT_SOURCE_ROLES, DEFAULT_SPLITS } from './constants.js';
import { findChildFile, findChildFolder, requireFolder } from './fs-index.js';
import { attachSources, openRoleTrees } from './role-trees.js';
import type { ClipCandidate, LayoutContext, LayoutDefinition, LayoutOptionsOf, LayoutResult, SourceRole } from './types.js';

const NAME = 'ferv39k';
const DATASET = 'ferv39k';

/** Folder names as they are spelled in different copies; matched ignoring case. */
const FOLDERS = {
  raw: ['0_7_LabelClips', '0_7_LabelClip'],
  face: ['2_ClipsforFaceCrop', '2_ClipforFaceCrop'],
  setups: ['4_setups'],
  allScenes: ['All_scenes'],
} as const;

const SPLIT_FILES = { train: 'train_All.csv', test: 'test_All.csv' } as const;

export interface Ferv39kLayoutConfig {
  layout: typeof NAME;
  /** Folder holding `0_7_LabelClips`, `2_ClipsforFaceCrop` and `4_setups` (any letter case). */
  root: string;
  /** Default `['train', 'test']`, read from `4_setups/All_scenes/{train_All,test_All}.csv`. */
  splits: Array<'train' | 'test'>;
  /** Which versions of each clip to look for. Default `['raw', 'face']`. */
  sources: SourceRole[];
  /** Check that each source exists (from directory listings). Default true. */
  checkFiles: boolean;
}

export type Ferv39kLayoutOptions = LayoutOptionsOf<Ferv39kLayoutConfig, 'root'>;

function validate(record: Record<string, unknown>, context?: LayoutContext): Ferv39kLayoutConfig {
  return {
    layout: NAME,
    root: pathOption(record, 'root', context),
    splits: subsetOf(record, 'splits', DEFAULT_SPLITS, DEFAULT_SPLITS),
    sources: subsetOf<SourceRole>(record, 'sources', DEFAULT_SOURCE_ROLES, DEFAULT_SOURCE_ROLES),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

/** `<Scene>/<Emotion>/<ID>` from a listed path; extra leading folders are dropped. */
export function ferv39kClipId(listed: string): string | undefined {
  const parts = listed
    .replace(/\\/g, '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  return parts.length >= 3 ? parts.slice(-3).join('/') : undefined;
}

/**
 * FERV39k: `4_setups/All_scenes/{train_All,test_All}.csv` lines `Action/Sad/0010 Sad` (label by
 * name), raw clips `0_7_LabelClips/<id>.mp4`, face crops `2_ClipsforFaceCrop/<id>/*.jpg`.
 * Split names are `train` and `test`.
 */
export async function readFerv39kLayout(options: Ferv39kLayoutOptions): Promise<LayoutResult> {
  return read(validate(options));
}

async function read(config: Ferv39kLayoutConfig): Promise<LayoutResult> {
  await requireFolder(config.root, 'FERV39k root');
  const collector = new LayoutCollector(DATASET, labelMapOf(DEFAULT_LABELS));
  const trees = await openRoleTrees(
    config.sources.map((role) => ({
      role,
      parent: config.root,
      aliases: FOLDERS[role],
      depth: 3,
      preferred: role === 'raw' ? 'video' : 'frames',
    })),
    config.checkFiles,
    collector,
  );

  const setups = await findChildFolder(config.root, FOLDERS.setups);
  const allScenes = setups ? await findChildFolder(setups, FOLDERS.allScenes) : undefined;
  for (const split of config.splits) {
    const fileName = SPLIT_FILES[split];
    const listPath =
      (allScenes && (await findChildFile(allScenes, fileName))) ??
      path.join(config.root, FOLDERS.setups[0], FOLDERS.allScenes[0], fileName);
    for (const line of (await readListLines(listPath, collector)) ?? []) {
      const where = `${fileName}:${line.number}`;
      const fields = line.text.split(/[\s,]+/);
      const clipId = fields.length === 2 ? ferv39kClipId(fields[0] as string) : undefined;
      if (!clipId) {
        collector.problem({
          code: 'malformed_line',
          path: listPath,
          line: line.number,
          detail: `${where}: malformed line "${line.text}" (expected "<Scene>/<Emotion>/<ID> <Emotion>")`,
        });
        continue;
      }
      const label = collector.labelByName(fields[1] as string);
      if (!label) {
        collector.problem({
          code: 'unknown_label',
          clipId,
          path: listPath,
          line: line.number,
          detail: `${where}: label "${fields[1]}" not in the label map`,
        });
        continue;
      }
      const id = collector.claim(clipId, { where, path: listPath, line: line.number, split, label: label.index });
      if (id === undefined) continue;
      const clip: ClipCandidate = { id, dataset: DATASET, split, label: label.index, labelName: label.name, sources: {} };
      if (attachSources(clip, trees, collector)) collector.add(clip);
    }
  }
  return collector.result();
}

export const ferv39kLayout: LayoutDefinition<Ferv39kLayoutConfig> = {
  name: NAME,
  summary: 'FERV39k: 0_7_LabelClips, 2_ClipsforFaceCrop, 4_setups/All_scenes/{train_All,test_All}.csv',
  validate,
  read,
};
