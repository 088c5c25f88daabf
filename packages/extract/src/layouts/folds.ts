import { foldSplit } from 'shared';
import type { LayoutCollector } from './collector.js';
import type { RoleTree } from './role-trees.js';
import { attachSources } from './role-trees.js';
import type { ClipCandidate, LabelEntry } from './types.js';

/** The two lists of one fold. */
export type FoldRole = 'train' | 'test';

/** Where a list line is: for the problem records (file and 1-based line) and the text a person reads. */
export interface ListPlace {
  path: string;
  line: number;
  /** `set_2/test.txt:14`. */
  where: string;
}

/**
 * Gathers the clips of a dataset split into folds (DFEW, MAFW): each clip once, with every fold
 * split it is listed in (`set_<k>_train` / `set_<k>_test`, `foldSplit`). A clip listed twice in
 * one fold (twice in a list, or in its train and its test list) is a `duplicate` problem, and so
 * is a clip whose label differs between folds: either would leak or mislabel silently.
 */
export class FoldClips {
  private readonly byId = new Map<string, { clip: ClipCandidate; first: string }>();
  private readonly inFold = new Map<string, string>();

  constructor(private readonly collector: LayoutCollector) {}

  add(listedId: string, label: LabelEntry, fold: number, role: FoldRole, place: ListPlace, expectedFrames?: number): void {
    // ids become file names under the data folder: confined like every other layout's
    const clipId = this.collector.confine(listedId, place);
    if (clipId === undefined) return;
    const key = clipId.toLowerCase();
    const foldKey = `${fold}:${key}`;
    const earlier = this.inFold.get(foldKey);
    if (earlier !== undefined) {
      this.duplicate(clipId, place, `listed twice in fold ${fold} (first at ${earlier})`);
      return;
    }
    const known = this.byId.get(key);
    if (known !== undefined && known.clip.label !== label.index) {
      this.duplicate(clipId, place, `listed with label ${label.name} here and ${known.clip.labelName} at ${known.first}`);
      return;
    }
    this.inFold.set(foldKey, place.where);
    const split = foldSplit(fold, role);
    if (known !== undefined) {
      known.clip.splits?.push(split);
      return;
    }
    this.byId.set(key, {
      clip: {
        id: clipId,
        dataset: this.collector.dataset,
        split: null,
        splits: [split],
        label: label.index,
        labelName: label.name,
        sources: {},
        ...(expectedFrames === undefined ? {} : { expectedFrames }),
      },
      first: place.where,
    });
  }

  /** Attaches each clip's sources and hands the clips that have one to the collector, in id order. */
  finish(trees: readonly RoleTree[]): void {
    const clips = [...this.byId.values()].map((entry) => entry.clip).sort((a, b) => a.id.localeCompare(b.id));
    for (const clip of clips) if (attachSources(clip, trees, this.collector)) this.collector.add(clip);
  }

  private duplicate(clipId: string, place: ListPlace, what: string): void {
    this.collector.problem({
      code: 'duplicate',
      clipId,
      path: place.path,
      line: place.line,
      detail: `${place.where}: clip ${clipId} ${what}`,
    });
  }
}

/** Fold numbers for a layout's `folds` option: a list of distinct integers 1..`count`. */
export function foldList(value: unknown, count: number, fallback: readonly number[]): number[] | string {
  const folds = value ?? fallback;
  const expected = `a non-empty list of distinct fold numbers 1..${count}`;
  if (!Array.isArray(folds) || folds.length === 0 || new Set(folds).size !== folds.length) return expected;
  if (folds.some((f) => typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f > count)) return expected;
  return [...(folds as number[])].sort((a, b) => a - b);
}
