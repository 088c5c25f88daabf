import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { boolean, fail, nonEmptyString, oneOf, pathOption, stringList } from './config.js';
import { DEFAULT_LABELS } from './constants.js';
import { ferv39kClipId } from './ferv39k.js';
import type { FoldRole } from './folds.js';
import { FoldClips } from './folds.js';
import { clipStem, indexClipTree, requireFolder } from './fs-index.js';
import type { RoleTree } from './role-trees.js';
import { attachSources } from './role-trees.js';
import type { ClipCandidate, LayoutContext, LayoutDefinition, LayoutOptionsOf, LayoutResult, SourceKind, SourceRole } from './types.js';

const NAME = 'reference-list';

export interface ReferenceListFile {
  split: string;
  path: string;
}

export interface ReferenceListLayoutConfig {
  layout: typeof NAME;
  /** Folder under which each list path's trailing `<Scene>/<Emotion>/<ID>` is resolved. */
  root: string;
  /** `<path> <frames> <label>` lists, one per split. */
  lists: ReferenceListFile[];
  /** Default `'ferv39k'`. */
  dataset: string;
  /** Label names in index order. Default the FERV39k/DFEW seven. */
  labels: string[];
  /** Default `'face'`: the reference lists count face-crop frames. */
  sourceRole: SourceRole;
  /** What to assume when `checkFiles` is false; with checks on, whatever exists is used. Default `'frames'`. */
  sourceKind: SourceKind;
  /** Default true. */
  checkFiles: boolean;
}

export type ReferenceListLayoutOptions = LayoutOptionsOf<ReferenceListLayoutConfig, 'root' | 'lists'>;

function validate(record: Record<string, unknown>, context?: LayoutContext): ReferenceListLayoutConfig {
  const lists = record['lists'];
  const expected = 'a non-empty list of { split, path } with distinct splits';
  if (!Array.isArray(lists) || lists.length === 0) fail('lists', expected, lists);
  const files: ReferenceListFile[] = lists.map((entry: unknown) => {
    const item = entry as Record<string, unknown> | null;
    if (
      typeof item !== 'object' ||
      item === null ||
      typeof item['split'] !== 'string' ||
      typeof item['path'] !== 'string' ||
      item['split'] === '' ||
      item['path'] === ''
    ) {
      fail('lists', expected, lists);
    }
    return { split: item['split'] as string, path: pathOption(item, 'path', context) };
  });
  if (new Set(files.map((file) => file.split)).size !== files.length) fail('lists', expected, lists);
  return {
    layout: NAME,
    root: pathOption(record, 'root', context),
    lists: files,
    dataset: nonEmptyString(record, 'dataset', 'ferv39k'),
    labels: stringList(record, 'labels', DEFAULT_LABELS) as string[],
    sourceRole: oneOf<SourceRole>(record, 'sourceRole', ['raw', 'face'], 'face'),
    sourceKind: oneOf<SourceKind>(record, 'sourceKind', ['frames', 'video'], 'frames'),
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

/**
 * The reference code's clip lists: `<path> <frames> <label>` per line, `<path>` an absolute
 * path from the authors' machine ending in `<Scene>/<Emotion>/<ID>`. Only that tail is kept and
 * resolved under `root`; `<frames>` becomes `expectedFrames`, `<label>` is an index.
 */
export async function readReferenceListLayout(options: ReferenceListLayoutOptions): Promise<LayoutResult> {
  return read(validate(options));
}

async function read(config: ReferenceListLayoutConfig): Promise<LayoutResult> {
  if (config.checkFiles) await requireFolder(config.root, `${config.dataset} clip root`);
  const collector = new LayoutCollector(config.dataset, labelMapOf(config.labels));
  const tree: RoleTree = {
    role: config.sourceRole,
    folder: config.root,
    preferred: config.sourceKind,
    ...(config.checkFiles ? { index: await indexClipTree(config.root, 3) } : {}),
  };

  // Lists named as fold splits (`set_<k>_train`, `set_<k>_test`, see `foldSplit`) form folds: a
  // clip is in the splits of every fold that lists it, and twice in one fold is a duplicate.
  const foldOf = (split: string) => /^set_(\d+)_(train|test)$/.exec(split);
  const folded = config.lists.every((list) => foldOf(list.split)) ? new FoldClips(collector) : undefined;
  for (const list of config.lists) {
    const listName = path.basename(list.path);
    for (const line of (await readListLines(list.path, collector)) ?? []) {
      const where = `${listName}:${line.number}`;
      // Split from the right: only the path may contain spaces.
      const tokens = line.text.split(/\s+/);
      const labelText = tokens.pop() ?? '';
      const framesText = tokens.pop() ?? '';
      const listed = tokens.join(' ');
      // The listed path is absolute (the authors' machine) and only its tail is kept, so a `..`
      // anywhere in it would silently move the id: refused, like an id escaping the root.
      if (listed.split(/[\\/]/).includes('..')) {
        collector.problem({
          code: 'path_escape',
          path: list.path,
          line: line.number,
          detail: `${where}: expected a clip path without ".." segments, got "${listed}" (split ${list.split})`,
        });
        continue;
      }
      const clipId = tokens.length > 0 ? ferv39kClipId(clipStem(listed)) : undefined;
      if (!clipId || !/^\d+$/.test(framesText) || Number(framesText) < 1 || !/^-?\d+$/.test(labelText)) {
        collector.problem({
          code: 'malformed_line',
          path: list.path,
          line: line.number,
          detail: `${where}: malformed line "${line.text}" (expected "<path> <frames> <label index>")`,
        });
        continue;
      }
      const label = collector.labelByIndex(Number(labelText));
      if (!label) {
        collector.problem({
          code: 'unknown_label',
          clipId,
          path: list.path,
          line: line.number,
          detail: `${where}: clip ${clipId} (split ${list.split}): label ${labelText} not in 0..${collector.labelMap.length - 1} (the dataset's ${collector.labelMap.length} classes)`,
        });
        continue;
      }
      const fold = foldOf(list.split);
      if (folded && fold) {
        folded.add(clipId, label, Number(fold[1]), fold[2] as FoldRole, { path: list.path, line: line.number, where }, Number(framesText));
        continue;
      }
      const id = collector.claim(clipId, { where, path: list.path, line: line.number, split: list.split, label: label.index });
      if (id === undefined) continue;
      const clip: ClipCandidate = {
        id,
        dataset: config.dataset,
        split: list.split,
        label: label.index,
        labelName: label.name,
        sources: {},
        expectedFrames: Number(framesText),
      };
      if (attachSources(clip, [tree], collector)) collector.add(clip);
    }
  }
  folded?.finish([tree]);
  return collector.result();
}

export const referenceListLayout: LayoutDefinition<ReferenceListLayoutConfig> = {
  name: NAME,
  summary: 'the reference code\'s clip lists ("lists": [{ "split", "path" }], lines "<path> <frames> <label>")',
  validate,
  read,
};
