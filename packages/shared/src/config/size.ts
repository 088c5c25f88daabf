import { BYTE_SIZE_UNITS } from './constants.js';

const SIZE_PATTERN = new RegExp(`^\\s*(\\d+(?:\\.\\d+)?)\\s*(${Object.keys(BYTE_SIZE_UNITS).join('|')})?\\s*$`, 'i');

/**
 * A size as people write it: a whole number of bytes, or a number with a unit (`512MiB`,
 * `1.5GB`, `800 MB`; units are case-insensitive, `k`/`M`/`G` powers of 1000, `Ki`/`Mi`/`Gi`
 * powers of 1024). Null for anything else, which the caller reports with the key it came from.
 */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = SIZE_PATTERN.exec(value);
  if (match === null) return null;
  const unit = (match[2] ?? 'B').toLowerCase();
  const factor = Object.entries(BYTE_SIZE_UNITS).find(([name]) => name.toLowerCase() === unit)?.[1];
  if (factor === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** Bytes in the largest binary unit that keeps the number at or above 1, for messages: `1.50 GiB`, `96.0 MiB`. */
export function formatByteSize(bytes: number): string {
  const units: Array<[string, number]> = [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ];
  for (const [name, factor] of units) if (bytes >= factor) return `${(bytes / factor).toFixed(bytes >= 100 * factor ? 0 : 2)} ${name}`;
  return `${bytes} B`;
}
