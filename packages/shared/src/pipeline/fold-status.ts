import type { ArtifactRow, ArtifactStatus } from '../manifest/types.js';

/** What `pthnet cv` has done for one fold of one dataset (`pthnet status`). */
export interface FoldStatus {
  dataset: string;
  fold: number;
  /** Packed datasets of the fold's splits: done / recorded. */
  datasets: { done: number; total: number };
  /** Training runs of the fold (forward, reversed): done / recorded. */
  runs: { done: number; total: number };
  /** The fold's report, or null while it has none. */
  report: ArtifactStatus | null;
}

/** A dataset's cross-validation report. */
export interface CvReportStatus {
  dataset: string;
  status: ArtifactStatus;
  path: string;
}

/**
 * Per fold, from the artifacts the manifest holds: packed datasets of `set_<k>_train/test`,
 * training runs of fold k and the report in `<cv.out>/set_<k>`; then each cv report. Only
 * datasets that have fold artifacts appear.
 */
export function foldStatus(rows: readonly ArtifactRow[]): { folds: FoldStatus[]; cvReports: CvReportStatus[] } {
  const folds = new Map<string, FoldStatus>();
  const entry = (dataset: string, fold: number) => {
    const key = `${dataset}\n${fold}`;
    let status = folds.get(key);
    if (status === undefined) {
      status = { dataset, fold, datasets: { done: 0, total: 0 }, runs: { done: 0, total: 0 }, report: null };
      folds.set(key, status);
    }
    return status;
  };
  const cvReports: CvReportStatus[] = [];
  for (const row of rows) {
    if (row.dataset === null) continue;
    const count = (c: { done: number; total: number }) => {
      c.total += 1;
      if (row.status === 'done') c.done += 1;
    };
    if (row.kind === 'packed-dataset') {
      const m = /^set_(\d+)_(train|test)$/.exec(row.variant);
      if (m) count(entry(row.dataset, Number(m[1])).datasets);
    } else if (row.kind === 'training-run') {
      const m = /^set_(\d+)$/.exec(row.variant);
      if (m) count(entry(row.dataset, Number(m[1])).runs);
    } else if (row.kind === 'report') {
      const m = /(?:^|[/\\])set_(\d+)$/.exec(row.variant);
      if (m) entry(row.dataset, Number(m[1])).report = row.status;
    } else if (row.kind === 'cv-report') {
      cvReports.push({ dataset: row.dataset, status: row.status, path: row.path });
    }
  }
  const sorted = [...folds.values()].sort((a, b) => a.dataset.localeCompare(b.dataset) || a.fold - b.fold);
  return { folds: sorted, cvReports };
}

/** The folds table of `status`: per dataset and fold, packed datasets, training runs and the report. */
export function formatFoldStatus(status: ReturnType<typeof foldStatus>): string[] {
  if (status.folds.length === 0 && status.cvReports.length === 0) return [];
  const lines = ['', 'folds (pthnet cv):'];
  const rows = status.folds.map((f) => [
    f.dataset,
    `set_${f.fold}`,
    `${f.datasets.done}/${f.datasets.total}`,
    `${f.runs.done}/${f.runs.total}`,
    f.report ?? 'none',
  ]);
  const header = ['dataset', 'fold', 'datasets', 'train', 'report'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of [header, ...rows])
    lines.push(
      `  ${row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}`,
    );
  for (const r of status.cvReports) lines.push(`  cv report of ${r.dataset}: ${r.status} (${r.path})`);
  return lines;
}
