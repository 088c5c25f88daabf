import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { boolean, fail, integerIn, pathOption, subsetOf } from './config.js';
import { FoldClips, foldList } from './folds.js';
import { DEFAULT_LABELS, DEFAULT_SOURCE_ROLES, DEFAULT_SPLITS } from './constants.js';
import { clipStem, findChildFile, findChildFolder, requireFolder } from './fs-index.js';
import { attachSources, openRoleTrees } from './role-trees.js';
import type { ListPlace } from './folds.js';
import type { ClipCandidate, LabelEntry, LayoutContext, LayoutDefinition, LayoutOptionsOf, LayoutResult, SourceRole } from './types.js';

const NAME = 'dfew';
const DATASET = 'dfew';

const FOLDERS = {
  clip: 'Clip',
  raw: 'original',
  face: 'clip_224x224',
  splits: 'EmoLabel_DataSplit',
} as const;

const FOLD_COUNT = 5;

/** DFEW clip names are zero-padded to this many digits. */
const NAME_DIGITS = 5;

export interface DfewLayoutConfig {
  layout: typeof NAME;
  /** Folder holding `Clip/` and `EmoLabel_DataSplit/`. */
  root: string;
  /** Which of the five single-label folds (`set_<fold>.csv`) gives the splits `train` and `test`. Default 1. */
  fold: number;
  /**
   * Instead of `fold`: several folds at once (`[1, 2, 3, 4, 5]` for `pthnet cv`), each clip
   * recorded in the splits `set_<k>_train` / `set_<k>_test` of every fold that lists it.
   */
  folds: number[] | null;
  /** Default `['train', 'test']`. */
  splits: Array<'train' | 'test'>;
  /** Default `['raw', 'face']`: `Clip/original/` and `Clip/clip_224x224/`. */
  sources: SourceRole[];
  /** Default true. */
  checkFiles: boolean;
}

export type DfewLayoutOptions = LayoutOptionsOf<DfewLayoutConfig, 'root'>;

function validate(record: Record<string, unknown>, context?: LayoutContext): DfewLayoutConfig {
  const fold = integerIn(record, 'fold', 1, FOLD_COUNT, 1);
  let folds: number[] | null = null;
  if (record['folds'] !== undefined) {
    if (record['fold'] !== undefined) fail('folds', 'either "fold" or "folds", not both', record['folds']);
    const listed = foldList(record['folds'], FOLD_COUNT, []);
    if (typeof listed === 'string') fail('folds', listed, record['folds']);
    folds = listed;
  }
  return {
    layout: NAME,
    root: pathOption(record, 'root', context),
    fold,
    folds,
    splits: subsetOf(record, 'splits', DEFAULT_SPLITS, DEFAULT_SPLITS),
    sources: subsetOf<SourceRole>(record, 'sources', DEFAULT_SOURCE_ROLES, DEFAULT_SOURCE_ROLES),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

/**
 * DFEW: `EmoLabel_DataSplit/{train,test}(single-labeled)/set_<fold>.csv` (`video_name,label`,
 * labels 1..7), raw clips `Clip/original/<00001>.mp4`, aligned faces `Clip/clip_224x224/<00001>/`
 * (frames) or `<00001>.mp4`. Clip ids are the zero-padded names; split names `train` and `test`,
 * or with `folds` `set_<k>_train` and `set_<k>_test` for each fold k.
 */
export async function readDfewLayout(options: DfewLayoutOptions): Promise<LayoutResult> {
  return read(validate(options));
}

async function read(config: DfewLayoutConfig): Promise<LayoutResult> {
  await requireFolder(config.root, 'DFEW root');
  const collector = new LayoutCollector(DATASET, labelMapOf(DEFAULT_LABELS));
  const clipFolder = (await findChildFolder(config.root, [FOLDERS.clip])) ?? path.join(config.root, FOLDERS.clip);
  const trees = await openRoleTrees(
    config.sources.map((role) => ({
      role,
      parent: clipFolder,
      aliases: [FOLDERS[role]],
      depth: 1,
      preferred: role === 'raw' ? 'video' : 'frames',
    })),
    config.checkFiles,
    collector,
  );

  const splitsFolder = await findChildFolder(config.root, [FOLDERS.splits]);
  const folded = config.folds === null ? undefined : new FoldClips(collector);
  for (const fold of config.folds ?? [config.fold]) {
    for (const split of config.splits) {
      await readFoldList(config, collector, splitsFolder, fold, split, (clipId, label, place) => {
        if (folded) {
          folded.add(clipId, label, fold, split, place);
          return;
        }
        const id = collector.claim(clipId, { ...place, split, label: label.index });
        if (id === undefined) return;
        const clip: ClipCandidate = { id, dataset: DATASET, split, label: label.index, labelName: label.name, sources: {} };
        if (attachSources(clip, trees, collector)) collector.add(clip);
      });
    }
  }
  folded?.finish(trees);
  return collector.result();
}

/** Reads `<split>(single-labeled)/set_<fold>.csv`, handing each good line's clip and label to `take`. */
async function readFoldList(
  config: DfewLayoutConfig,
  collector: LayoutCollector,
  splitsFolder: string | undefined,
  fold: number,
  split: 'train' | 'test',
  take: (clipId: string, label: LabelEntry, place: ListPlace) => void,
): Promise<void> {
  const folderName = `${split}(single-labeled)`;
  const fileName = `set_${fold}.csv`;
  const splitFolder = splitsFolder ? await findChildFolder(splitsFolder, [folderName]) : undefined;
  const listPath =
    (splitFolder && (await findChildFile(splitFolder, fileName))) ?? path.join(config.root, FOLDERS.splits, folderName, fileName);
  for (const [i, line] of ((await readListLines(listPath, collector)) ?? []).entries()) {
    const where = `${split}/${fileName}:${line.number}`;
    const fields = line.text.split(',').map((field) => field.trim());
    if (i === 0 && fields[0]?.toLowerCase() === 'video_name') continue;
    const name = fields.length === 2 ? clipStem(path.basename(fields[0] as string)) : '';
    if (!/^\d{1,5}$/.test(name) || !/^-?\d+$/.test(fields[1] ?? '')) {
      collector.problem({
        code: 'malformed_line',
        path: listPath,
        line: line.number,
        detail: `${where}: malformed line "${line.text}" (expected "<video number>,<label 1..7>")`,
      });
      continue;
    }
    const clipId = name.padStart(NAME_DIGITS, '0');
    // The split files count labels from 1, the label map from 0.
    const label = collector.labelByIndex(Number(fields[1]) - 1);
    if (!label) {
      collector.problem({
        code: 'unknown_label',
        clipId,
        path: listPath,
        line: line.number,
        detail: `${where}: label ${fields[1]} not in 1..${collector.labelMap.length}`,
      });
      continue;
    }
    take(clipId, label, { path: listPath, line: line.number, where });
  }
}

export const dfewLayout: LayoutDefinition<DfewLayoutConfig> = {
  name: NAME,
  summary: 'DFEW: Clip/original, Clip/clip_224x224, EmoLabel_DataSplit ("fold": 1..5, or "folds": [1, 2, 3, 4, 5] for cv)',
  validate,
  read,
};
