import { readFile } from 'node:fs/promises';
import type { ClipCandidate, IngestProblem, LabelEntry, LayoutResult } from './types.js';

/** Gathers clips and problems for one dataset; a clip id seen before becomes a problem, not a clip. */
export class LayoutCollector {
  readonly clips: ClipCandidate[] = [];
  readonly problems: IngestProblem[] = [];
  private readonly firstSeen = new Map<string, string>();

  constructor(
    readonly dataset: string,
    readonly labelMap: LabelEntry[],
  ) {}

  problem(problem: Omit<IngestProblem, 'dataset'>): void {
    this.problems.push({ dataset: this.dataset, ...problem });
  }

  /** Remembers the id (ignoring case: the file lookups ignore it too); false when already listed. */
  claim(clipId: string, where: string, listPath?: string, line?: number): boolean {
    const key = clipId.toLowerCase();
    const earlier = this.firstSeen.get(key);
    if (earlier !== undefined) {
      this.problem({
        code: 'duplicate',
        clipId,
        ...(listPath ? { path: listPath } : {}),
        ...(line !== undefined ? { line } : {}),
        detail: `${where}: clip listed twice (first at ${earlier})`,
      });
      return false;
    }
    this.firstSeen.set(key, where);
    return true;
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
    return { labelMap: this.labelMap, clips: this.clips, problems: this.problems };
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
