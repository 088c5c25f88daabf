import { PUBLISHED_RESULTS, TABLE_V_CLASS_ORDER } from './constants.js';
import type { PublishedResult } from './types.js';

/** A fraction as a percentage with two decimals (the paper's precision); `null` as `n/a`. */
export function percent(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? 'n/a' : (fraction * 100).toFixed(2);
}

/** The shortest decimal that reads back as the same float32 (at most 9 significant digits). */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const target = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return String(candidate);
  }
  return String(Number(target.toPrecision(9)));
}

/** RFC 4180 quoting: only fields with a comma, quote or line break are quoted. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A GitHub-flavoured Markdown table; `align` per column, `'r'` right-aligns numbers. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const separator = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [header, separator, ...rows].map((row, index) => `| ${(index === 1 ? row : row.map(cell)).join(' | ')} |`).join('\n');
}

/**
 * Column order of the per-class table: Table V's order (Happy, Sad, Neutral, Angry, Surprise,
 * Disgust, Fear) when the class names are those seven in any order and spelling, so a dataset
 * stored in alphabetical label order still reads like the paper; else label order.
 */
export function tableVColumnOrder(classNames: readonly string[]): number[] {
  const labelOrder = classNames.map((_, index) => index);
  if (classNames.length !== TABLE_V_CLASS_ORDER.length) return labelOrder;
  const positions = classNames.map((name) => TABLE_V_CLASS_ORDER.findIndex((spellings) => spellings.includes(name.trim().toLowerCase())));
  if (positions.some((p) => p < 0) || new Set(positions).size !== positions.length) return labelOrder;
  // biome-ignore lint/style/noNonNullAssertion: a and b are indices of classNames, and positions is classNames.map(...)
  return [...labelOrder].sort((a, b) => positions[a]! - positions[b]!);
}

/** Which dataset of the paper a dataset name refers to, if any (`'ferv39k'`, `'DFEW fold 1'`, ...). */
export function publishedDatasetOf(dataset: string): PublishedResult['dataset'] | undefined {
  const key = dataset.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (key.startsWith('ferv39k')) return 'FERV39k';
  if (key.startsWith('dfew')) return 'DFEW';
  return undefined;
}

/** Published results for the dataset; only the given setting when `faceCrops` is known. */
export function publishedResultsFor(dataset: string, faceCrops: boolean | undefined): PublishedResult[] {
  const paperDataset = publishedDatasetOf(dataset);
  if (paperDataset === undefined) return [];
  return PUBLISHED_RESULTS.filter(
    (result) => result.dataset === paperDataset && (faceCrops === undefined || result.setting === (faceCrops ? 'face' : 'raw')),
  );
}
