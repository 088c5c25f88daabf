import { readFile } from 'node:fs/promises';
import { confinedRelativePath } from 'shared';
import type { ClipCandidate, IngestProblem, LabelEntry, LayoutResult } from './types.js';

/** Where a clip id was listed: what a later listing of the same id is compared with. */
export interface ClaimPlace {
  /** What a person reads: `train_All.csv:7`, or the entry's path. */
  where: string;
  /** The list file (or entry) the id comes from. */
  path?: string;
  /** 1-based line of `path`. */
  line?: number;
  split: string;
  label: number;
}

/**
 * Gathers clips and problems for one dataset. Every clip id is confined (`..` and absolute ids
 * are `path_escape` problems: ids become file names under the data folder) and claimed once:
 * - the same id again with the same split and label: `duplicate`, a warning (the later line is ignored);
 * - with another label: `duplicate`, an error (the clip is left out: which label is right is unknown);
 * - in another split: `split_conflict`, an error (train/test leakage; the clip is left out of every split).
 */
export class LayoutCollector {
  readonly clips: ClipCandidate[] = [];
  readonly problems: IngestProblem[] = [];
  private readonly firstSeen = new Map<string, ClaimPlace>();
  private readonly rejected = new Set<string>();

  constructor(
    readonly dataset: string,
    readonly labelMap: LabelEntry[],
  ) {}

  problem(problem: Omit<IngestProblem, 'dataset'>): void {
    this.problems.push({ dataset: this.dataset, ...problem });
  }

  /**
   * The id, normalised, when it is new (the caller goes on to build the clip); undefined (and a
   * problem) when it escapes its root or was listed before. Ids are compared ignoring case: the
   * file lookups ignore it too.
   */
  claim(clipId: string, place: ClaimPlace): string | undefined {
    const at = { ...(place.path ? { path: place.path } : {}), ...(place.line !== undefined ? { line: place.line } : {}) };
    const id = this.confine(clipId, place);
    if (id === undefined) return undefined;
    const key = id.toLowerCase();
    const earlier = this.firstSeen.get(key);
    if (earlier === undefined) {
      this.firstSeen.set(key, place);
      return id;
    }
    if (earlier.split !== place.split) {
      this.rejected.add(key);
      this.problem({
        code: 'split_conflict',
        clipId: id,
        ...at,
        detail: `${place.where}: clip listed in split ${place.split} here and in split ${earlier.split} at ${earlier.where} (train/test leakage): left out of every split`,
      });
    } else if (earlier.label !== place.label) {
      this.rejected.add(key);
      this.problem({
        code: 'duplicate',
        clipId: id,
        ...at,
        detail: `${place.where}: clip listed with label ${this.nameOf(place.label)} here and ${this.nameOf(earlier.label)} at ${earlier.where}: left out`,
      });
    } else {
      this.problem({
        code: 'duplicate',
        clipId: id,
        ...at,
        detail: `${place.where}: clip listed twice (first at ${earlier.where}): line ignored`,
      });
    }
    return undefined;
  }

  /** The id, normalised, or undefined (and a `path_escape` problem) when it is absolute or climbs out with `..`. */
  confine(clipId: string, place: Pick<ClaimPlace, 'where' | 'path' | 'line'>): string | undefined {
    try {
      return confinedRelativePath(clipId, place.where);
    } catch (error) {
      const at = { ...(place.path ? { path: place.path } : {}), ...(place.line !== undefined ? { line: place.line } : {}) };
      this.problem({ code: 'path_escape', clipId, ...at, detail: (error as Error).message });
      return undefined;
    }
  }

  private nameOf(label: number): string {
    const name = this.labelByIndex(label)?.name;
    return name === undefined ? String(label) : `${label} (${name})`;
  }

  add(clip: ClipCandidate): void {
    this.clips.push(clip);
  }

  labelByName(name: string): LabelEntry | undefined {
    const wanted = name.toLowerCase();
    return this.labelMap.find((entry) => entry.name.toLowerCase() === wanted);
  }

  labelByIndex(index: number): LabelEntry | undefined {
    return this.labelMap.find((entry) => entry.index === index);
  }

  result(): LayoutResult {
    const clips = this.clips.filter((clip) => !this.rejected.has(clip.id.toLowerCase()));
    return { labelMap: this.labelMap, clips, problems: this.problems };
  }
}

export function labelMapOf(names: readonly string[]): LabelEntry[] {
  return names.map((name, index) => ({ index, name }));
}

export interface ListLine {
  /** 1-based. */
  number: number;
  text: string;
}

/** Non-blank lines of a text list, trimmed; undefined (and a problem) when it cannot be read. */
export async function readListLines(listPath: string, collector: LayoutCollector): Promise<ListLine[] | undefined> {
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    collector.problem(
      errno === 'ENOENT'
        ? { code: 'missing_file', path: listPath, detail: 'list file missing' }
        : { code: 'unreadable', path: listPath, detail: `list file unreadable (${String(errno ?? error)})` },
    );
    return undefined;
  }
  const lines: ListLine[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const trimmed = raw.trim();
      if (trimmed !== '') lines.push({ number: i + 1, text: trimmed });
    });
  return lines;
}
