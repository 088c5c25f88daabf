import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from 'shared';
import { LEVELS } from '../sampling/constants.js';
import type { Level } from '../sampling/types.js';
import { FALLBACK_CLIP_ID_PARTS, FEATURE_FOLDER_PATTERN } from './constants.js';
import type { FeatureList, FeatureListEntry, JoinedFeatureClip, JoinedFeatureLists, ReadFeatureListOptions } from './types.js';

/**
 * The clip id of a feature path: the parts after the last `<tag>_16_<stride>[_face][_rv]`
 * folder, without `.npy` (FERV39k `Scene/Emotion/ID`, DFEW `ID`), else the last three parts.
 * The same clip thus gets the same id in every stride and direction list.
 */
export function clipIdFromFeaturePath(featurePath: string): string {
  const parts = featurePath
    .replace(/\.npy$/i, '')
    .split(/[\\/]+/)
    .filter((part) => part !== '' && part !== '.');
  let folder = -1;
  for (let i = parts.length - 2; i >= 0; i--) {
    if (FEATURE_FOLDER_PATTERN.test(parts[i] as string)) {
      folder = i;
      break;
    }
  }
  const idParts = folder >= 0 ? parts.slice(folder + 1) : parts.slice(-FALLBACK_CLIP_ID_PARTS);
  return idParts.join('/');
}

function parseNonNegativeInteger(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Reads a reference feature list: one clip a line, `<npy path> <windows> <label>`. The last
 * two fields are taken from the end, so a path with spaces survives. Blank lines are skipped.
 */
export async function readFeatureList(listPath: string, options: ReadFeatureListOptions = {}): Promise<FeatureList> {
  const baseDir = options.baseDir ?? process.cwd();
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read feature list ${listPath}: ${(error as Error).message}`, listPath, {
      cause: error,
    });
  }
  const entries: FeatureListEntry[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '') return;
    const fields = line.split(/\s+/);
    const where = `${listPath}:${index + 1}`;
    if (fields.length < 3) {
      throw new InputError(`${where}: expected '<npy path> <windows> <label>', got '${line}'`, listPath);
    }
    const label = parseNonNegativeInteger(fields[fields.length - 1] as string);
    const windows = parseNonNegativeInteger(fields[fields.length - 2] as string);
    if (windows === undefined) {
      throw new InputError(`${where}: expected a non-negative integer window count, got '${fields[fields.length - 2]}'`, listPath);
    }
    if (label === undefined) {
      throw new InputError(`${where}: expected a non-negative integer label, got '${fields[fields.length - 1]}'`, listPath);
    }
    const rawPath = fields.slice(0, -2).join(' ');
    entries.push({
      clipId: clipIdFromFeaturePath(rawPath),
      rawPath,
      path: path.resolve(baseDir, rawPath),
      windows,
      label,
      line: index + 1,
    });
  });
  return { source: listPath, entries };
}

/**
 * Joins the H, M and L lists of one split and direction by clip id (the reference pairs them
 * by line number, which misaligns lists where a clip is missing from one level). Clips
 * missing from a level, listed twice in one, or with different labels are reported and left out.
 */
export function joinFeatureLists(lists: Readonly<Record<Level, FeatureList>>): JoinedFeatureLists {
  const byLevel = {} as Record<Level, Map<string, FeatureListEntry[]>>;
  for (const level of LEVELS) {
    const map = new Map<string, FeatureListEntry[]>();
    for (const entry of lists[level].entries) {
      const existing = map.get(entry.clipId);
      if (existing === undefined) map.set(entry.clipId, [entry]);
      else existing.push(entry);
    }
    byLevel[level] = map;
  }

  // Every id once, in order of first appearance: H list, then M, then L.
  const ids = new Set<string>();
  for (const level of LEVELS) for (const id of byLevel[level].keys()) ids.add(id);

  const clips: JoinedFeatureClip[] = [];
  const missing: Array<{ id: string; missingFrom: Level[] }> = [];
  const labelConflicts: Array<{ id: string; labels: Record<Level, number> }> = [];
  const duplicates: Array<{ id: string; level: Level; lines: number[] }> = [];

  for (const id of ids) {
    const missingFrom = LEVELS.filter((level) => !byLevel[level].has(id));
    if (missingFrom.length > 0) {
      missing.push({ id, missingFrom });
      continue;
    }
    let duplicated = false;
    for (const level of LEVELS) {
      const found = byLevel[level].get(id) as FeatureListEntry[];
      if (found.length > 1) {
        duplicates.push({ id, level, lines: found.map((entry) => entry.line) });
        duplicated = true;
      }
    }
    if (duplicated) continue;
    const entry = (level: Level): FeatureListEntry => (byLevel[level].get(id) as FeatureListEntry[])[0] as FeatureListEntry;
    const h = entry('H');
    const m = entry('M');
    const l = entry('L');
    if (h.label !== m.label || h.label !== l.label) {
      labelConflicts.push({ id, labels: { H: h.label, M: m.label, L: l.label } });
      continue;
    }
    clips.push({
      id,
      label: h.label,
      levels: { H: h.path, M: m.path, L: l.path },
      windows: { H: h.windows, M: m.windows, L: l.windows },
    });
  }
  return { clips, missing, labelConflicts, duplicates };
}
