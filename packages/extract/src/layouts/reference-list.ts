import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { validateLayoutConfig } from './config.js';
import { ferv39kClipId } from './ferv39k.js';
import { clipStem, indexClipTree, requireFolder } from './fs-index.js';
import type { RoleTree } from './role-trees.js';
import { attachSources } from './role-trees.js';
import type { ClipCandidate, ReferenceListLayoutOptions, LayoutResult, ReferenceListLayoutConfig } from './types.js';

/**
 * The reference code's clip lists: `<path> <frames> <label>` per line, `<path>` an absolute
 * path from the authors' machine ending in `<Scene>/<Emotion>/<ID>`. Only that tail is kept and
 * resolved under `root`; `<frames>` becomes `expectedFrames`, `<label>` is an index.
 */
export async function readReferenceListLayout(options: ReferenceListLayoutOptions): Promise<LayoutResult> {
  const config = validateLayoutConfig({ ...options, layout: 'reference-list' }) as ReferenceListLayoutConfig;
  if (config.checkFiles) await requireFolder(config.root, `${config.dataset} clip root`);
  const collector = new LayoutCollector(config.dataset, labelMapOf(config.labels));
  const tree: RoleTree = {
    role: config.sourceRole,
    folder: config.root,
    preferred: config.sourceKind,
    ...(config.checkFiles ? { index: await indexClipTree(config.root, 3) } : {}),
  };

  for (const list of config.lists) {
    const listName = path.basename(list.path);
    for (const line of (await readListLines(list.path, collector)) ?? []) {
      const where = `${listName}:${line.number}`;
      // Split from the right: only the path may contain spaces.
      const tokens = line.text.split(/\s+/);
      const labelText = tokens.pop() ?? '';
      const framesText = tokens.pop() ?? '';
      const clipId = tokens.length > 0 ? ferv39kClipId(clipStem(tokens.join(' '))) : undefined;
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
          detail: `${where}: label ${labelText} not in 0..${collector.labelMap.length - 1}`,
        });
        continue;
      }
      if (!collector.claim(clipId, where, list.path, line.number)) continue;
      const clip: ClipCandidate = {
        id: clipId,
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
  return collector.result();
}
