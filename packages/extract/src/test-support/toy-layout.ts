// A dataset layout that only tests register (registries.test.ts): the whole of a new layout in
// one file, as CONTRIBUTING.md describes, added with registerLayout instead of a line in
// layouts/registry.ts. Never imported by production code.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from '../layouts/collector.js';
import { fail, nonEmptyString, pathOption, stringList } from '../layouts/config.js';
import { clipStem, requireFolder } from '../layouts/fs-index.js';
import type { LayoutContext, LayoutDefinition, LayoutResult, SourceKind } from '../layouts/types.js';
import { VIDEO_EXTENSIONS } from '../layouts/constants.js';
import { resolveInside } from 'shared';

const NAME = 'toy-list';

export interface ToyListLayoutConfig {
  layout: typeof NAME;
  /** Folder holding the list and the clips it names. */
  root: string;
  /** The list, relative to `root`: lines `<split>,<label>,<clip path>`. Default `clips.csv`. */
  list: string;
  /** Label names in index order. */
  labels: string[];
  /** The manifest's dataset name. Default `toy`. */
  dataset: string;
}

function validate(record: Record<string, unknown>, context?: LayoutContext): ToyListLayoutConfig {
  const labels = stringList(record, 'labels') ?? fail('labels', 'a non-empty list of distinct non-empty strings', undefined);
  return {
    layout: NAME,
    root: pathOption(record, 'root', context),
    list: nonEmptyString(record, 'list', 'clips.csv'),
    labels,
    dataset: nonEmptyString(record, 'dataset', 'toy'),
  };
}

/** `frames` for a folder, `video` for a file with a video extension, undefined when it is neither or missing. */
async function kindOf(file: string): Promise<SourceKind | 'missing' | undefined> {
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) return 'missing';
  if (info.isDirectory()) return 'frames';
  return VIDEO_EXTENSIONS.includes(path.extname(file).toLowerCase()) ? 'video' : undefined;
}

async function read(config: ToyListLayoutConfig): Promise<LayoutResult> {
  await requireFolder(config.root, 'toy dataset root');
  const collector = new LayoutCollector(config.dataset, labelMapOf(config.labels));
  const listPath = path.join(config.root, config.list);
  for (const line of (await readListLines(listPath, collector)) ?? []) {
    const where = `${config.list}:${line.number}`;
    const fields = line.text.split(',').map((field) => field.trim());
    const [split, labelName, relative] = fields;
    if (fields.length !== 3 || !split || !labelName || !relative) {
      collector.problem({
        code: 'malformed_line',
        path: listPath,
        line: line.number,
        detail: `${where}: malformed line "${line.text}" (expected "<split>,<label>,<clip path>")`,
      });
      continue;
    }
    const clipId = clipStem(relative);
    const label = collector.labelByName(labelName);
    if (!label) {
      collector.problem({
        code: 'unknown_label',
        clipId,
        path: listPath,
        line: line.number,
        detail: `${where}: label "${labelName}" unknown`,
      });
      continue;
    }
    const id = collector.claim(clipId, { where, path: listPath, line: line.number, split, label: label.index });
    if (id === undefined) continue;
    const file = resolveInside(config.root, relative, where);
    const kind = await kindOf(file);
    if (kind === 'missing') {
      collector.problem({ code: 'missing_file', clipId, path: file, detail: `${where}: ${relative} missing` });
    } else if (kind === undefined) {
      collector.problem({
        code: 'not_a_clip',
        clipId,
        path: file,
        detail: `${where}: ${relative} is neither a video nor a folder of frames`,
      });
    } else {
      collector.add({
        id,
        dataset: config.dataset,
        split,
        label: label.index,
        labelName: label.name,
        sources: { raw: { path: file, kind } },
      });
    }
  }
  return collector.result();
}

export const toyListLayout: LayoutDefinition<ToyListLayoutConfig> = {
  name: NAME,
  summary: 'a test layout: one list of "<split>,<label>,<clip path>" lines',
  validate,
  read,
};
