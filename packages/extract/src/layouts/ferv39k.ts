import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { validateLayoutConfig } from './config.js';
import { DEFAULT_LABELS, FERV39K_FOLDERS, FERV39K_SPLIT_FILES } from './constants.js';
import { findChildFile, findChildFolder, requireFolder } from './fs-index.js';
import { attachSources, openRoleTrees } from './role-trees.js';
import type { ClipCandidate, Ferv39kLayoutConfig, Ferv39kLayoutOptions, LayoutResult } from './types.js';

const DATASET = 'ferv39k';

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
  const config = validateLayoutConfig({ ...options, layout: 'ferv39k' }) as Ferv39kLayoutConfig;
  await requireFolder(config.root, 'FERV39k root');
  const collector = new LayoutCollector(DATASET, labelMapOf(DEFAULT_LABELS));
  const trees = await openRoleTrees(
    config.sources.map((role) => ({
      role,
      parent: config.root,
      aliases: FERV39K_FOLDERS[role],
      depth: 3,
      preferred: role === 'raw' ? 'video' : 'frames',
    })),
    config.checkFiles,
    collector,
  );

  const setups = await findChildFolder(config.root, FERV39K_FOLDERS.setups);
  const allScenes = setups ? await findChildFolder(setups, FERV39K_FOLDERS.allScenes) : undefined;
  for (const split of config.splits) {
    const fileName = FERV39K_SPLIT_FILES[split];
    const listPath =
      (allScenes && (await findChildFile(allScenes, fileName))) ??
      path.join(config.root, FERV39K_FOLDERS.setups[0], FERV39K_FOLDERS.allScenes[0], fileName);
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
      if (!collector.claim(clipId, where, listPath, line.number)) continue;
      const clip: ClipCandidate = { id: clipId, dataset: DATASET, split, label: label.index, labelName: label.name, sources: {} };
      if (attachSources(clip, trees, collector)) collector.add(clip);
    }
  }
  return collector.result();
}
