import path from 'node:path';
import { LayoutCollector, labelMapOf } from './collector.js';
import { nonEmptyString, oneOf, pathOption, stringList } from './config.js';
import type { ListedEntry } from './fs-index.js';
import { clipKindOf, clipStem, isHidden, listDirectory, requireFolder } from './fs-index.js';
import type { ClipCandidate, LayoutContext, LayoutDefinition, LayoutOptionsOf, LayoutResult, SourceRole } from './types.js';

const NAME = 'generic';

export interface GenericLayoutConfig {
  layout: typeof NAME;
  /** Folder holding `<split>/<label>/<clip>`: clip = a video file or a folder of frames. */
  root: string;
  /** Default `'generic'`. */
  dataset: string;
  /** Default: every folder under `root`, sorted. */
  splits?: string[];
  /** Label names in index order. Default: the label folder names of all splits, sorted. */
  labels?: string[];
  /** Default `'raw'`. */
  sourceRole: SourceRole;
}

export type GenericLayoutOptions = LayoutOptionsOf<GenericLayoutConfig, 'root'>;

function validate(record: Record<string, unknown>, context?: LayoutContext): GenericLayoutConfig {
  const config: GenericLayoutConfig = {
    layout: NAME,
    root: pathOption(record, 'root', context),
    dataset: nonEmptyString(record, 'dataset', 'generic'),
    sourceRole: oneOf<SourceRole>(record, 'sourceRole', ['raw', 'face'], 'raw'),
  };
  const splits = stringList(record, 'splits');
  const labels = stringList(record, 'labels');
  if (splits) config.splits = splits;
  if (labels) config.labels = labels;
  return config;
}

/** Plain code-unit order, the same on every machine and locale (like Python's `sorted`). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function folders(entries: readonly ListedEntry[] | undefined): ListedEntry[] {
  return (entries ?? []).filter((entry) => entry.isDirectory && !isHidden(entry.name)).sort((a, b) => byCodeUnits(a.name, b.name));
}

/**
 * `<root>/<split>/<label>/<clip>`, a clip being a video file or a folder of frames. Labels are the
 * given order, else the label folder names of all splits sorted; clip ids `<split>/<label>/<clip>`.
 */
export async function readGenericLayout(options: GenericLayoutOptions): Promise<LayoutResult> {
  return read(validate(options));
}

async function read(config: GenericLayoutConfig): Promise<LayoutResult> {
  await requireFolder(config.root, `${config.dataset} root`);

  const splitFolders = folders(await listDirectory(config.root));
  const chosenSplits = config.splits ?? splitFolders.map((entry) => entry.name);
  const labelFoldersBySplit = new Map<string, ListedEntry[]>();
  const missingSplits: string[] = [];
  for (const split of chosenSplits) {
    const folder = splitFolders.find((entry) => entry.name === split);
    if (folder) labelFoldersBySplit.set(split, folders(await listDirectory(folder.path)));
    else missingSplits.push(split);
  }
  const labelNames = config.labels ?? [...new Set([...labelFoldersBySplit.values()].flat().map((entry) => entry.name))].sort(byCodeUnits);
  const collector = new LayoutCollector(config.dataset, labelMapOf(labelNames));
  for (const split of missingSplits)
    collector.problem({ code: 'missing_folder', path: path.join(config.root, split), detail: `split folder "${split}" missing` });

  for (const [split, labelFolders] of labelFoldersBySplit) {
    for (const labelFolder of labelFolders) {
      const label = collector.labelByName(labelFolder.name);
      if (!label) {
        collector.problem({
          code: 'unknown_label',
          path: labelFolder.path,
          detail: `label "${labelFolder.name}" not in the label order ${labelNames.join(', ')}`,
        });
        continue;
      }
      const entries = ((await listDirectory(labelFolder.path)) ?? []).filter((entry) => !isHidden(entry.name));
      for (const entry of entries.sort((a, b) => byCodeUnits(a.name, b.name))) {
        const kind = clipKindOf(entry);
        if (!kind) {
          collector.problem({ code: 'not_a_clip', path: entry.path, detail: 'neither a video file nor a folder of frames' });
          continue;
        }
        const clipId = `${split}/${labelFolder.name}/${clipStem(entry.name)}`;
        const id = collector.claim(clipId, { where: entry.path, path: entry.path, split, label: label.index });
        if (id === undefined) continue;
        const clip: ClipCandidate = {
          id,
          dataset: config.dataset,
          split,
          label: label.index,
          labelName: label.name,
          sources: { [config.sourceRole]: { path: entry.path, kind } },
        };
        collector.add(clip);
      }
    }
  }
  return collector.result();
}

export const genericLayout: LayoutDefinition<GenericLayoutConfig> = {
  name: NAME,
  summary: '<root>/<split>/<label>/<clip>, a clip being a video or a folder of frames',
  validate,
  read,
};
