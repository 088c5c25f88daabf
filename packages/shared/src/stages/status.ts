import type { Command } from 'commander';
import { stageCommand, stageContext } from '../cli/common.js';
import { ManifestStore, manifestExists } from '../manifest/index.js';
import type { FailedArtifact, IngestIssueRow, Lease, StatusSummary } from '../manifest/types.js';
import { foldStatus, formatFoldStatus } from '../pipeline/fold-status.js';

function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

export function formatStatus(summary: StatusSummary, manifestPath: string, folds?: ReturnType<typeof foldStatus>): string {
  const lines: string[] = [`manifest: ${manifestPath}`];
  const byDataset = Object.entries(summary.clips.byDataset)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ');
  lines.push(`clips: ${summary.clips.total}${byDataset ? ` (${byDataset})` : ''}`);
  const issues = Object.entries(summary.ingestIssues.byReason)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const hint = summary.ingestIssues.total > 0 ? '; `pthnet status --problems` lists them' : '';
  lines.push(`ingest issues: ${summary.ingestIssues.total}${issues ? ` (${issues})` : ''}${hint}`);
  lines.push('');
  const header = ['stage', 'done', 'stale', 'failed', 'pending', 'missing', 'total', 'MB'];
  // summary.stages come in the artifact catalogue's pipeline order, so the table reads like the pipeline
  const rows = summary.stages.map((s) =>
    [s.stage, s.done, s.stale, s.failed, s.pending, s.missing, s.total, (s.bytes / 1e6).toFixed(1)].map(String),
  );
  // every row has the header's eight cells; a missing cell or width would count as zero wide
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  lines.push(fmt(header), ...rows.map(fmt));
  if (rows.length === 0) lines.push('(no artifacts yet)');
  if (summary.failed.length > 0) {
    lines.push('', 'failed:');
    for (const f of summary.failed) {
      const what = [f.stage, f.kind, f.dataset, f.clipId, f.direction, f.stride, f.source, f.variant]
        .filter((x) => x !== null && x !== '')
        .join(' ');
      lines.push(`  ${what}: ${f.error ?? '(no error text)'}`);
    }
  }
  if (summary.missing.length > 0)
    lines.push('', `missing files (${summary.missing.length}):`, ...summary.missing.slice(0, 20).map((p) => `  ${p}`));
  const lease = (l: Lease) =>
    `  ${l.stage.padEnd(16)} ${l.item}  ${l.host ?? '?'} pid ${l.pid ?? '?'}  lease age ${l.ageMs === null ? '?' : formatAge(l.ageMs)}`;
  if (summary.workers.length > 0) lines.push('', `workers (${summary.workers.length} items in hand):`, ...summary.workers.map(lease));
  if (summary.expiredLeases.length > 0) {
    lines.push('', `expired leases (${summary.expiredLeases.length}; the next worker redoes them):`, ...summary.expiredLeases.map(lease));
  }
  if (folds) lines.push(...formatFoldStatus(folds));
  if (summary.lastRuns.length > 0) {
    lines.push('', 'last runs:');
    for (const r of summary.lastRuns) {
      const counts = r.counts ? ` ${r.counts}` : '';
      lines.push(`  ${r.stage.padEnd(16)} ${r.outcome.padEnd(11)} ${r.startedAt.toISOString()}${counts}`);
    }
  }
  return lines.join('\n');
}

/** Every failed artifact and every ingest issue: what `status --problems` prints. */
export interface ProblemsReport {
  failed: FailedArtifact[];
  ingestIssues: IngestIssueRow[];
}

export async function problemsReport(store: ManifestStore): Promise<ProblemsReport> {
  return {
    failed: await store.artifacts.listFailed(Number.MAX_SAFE_INTEGER),
    ingestIssues: (await store.clips.listIngestIssues()).sort(
      (a, b) => a.dataset.localeCompare(b.dataset) || a.reason.localeCompare(b.reason) || a.subject.localeCompare(b.subject),
    ),
  };
}

/** One line per problem, each naming the file (or item) and why. */
export function formatProblems(report: ProblemsReport): string {
  const lines = [`${report.failed.length} failed items, ${report.ingestIssues.length} ingest issues`];
  if (report.failed.length > 0) lines.push('', 'failed:');
  for (const f of report.failed) {
    const what = [f.stage, f.kind, f.dataset, f.clipId, f.direction, f.stride, f.source, f.variant]
      .filter((x) => x !== null && x !== '')
      .join(' ');
    lines.push(`  ${what}: ${f.path}: ${f.error ?? '(no error text)'}`);
  }
  if (report.ingestIssues.length > 0) lines.push('', 'ingest issues:');
  for (const i of report.ingestIssues) {
    const where = i.path ?? i.clipId ?? i.subject;
    const detail = i.detail ?? '(no detail)';
    lines.push(`  ${i.dataset} ${i.reason}: ${detail.includes(where) ? detail : `${where}: ${detail}`}`);
  }
  return lines.join('\n');
}

export function command(): Command {
  const cmd = stageCommand('status', 'what the manifest holds: done, stale, failed, missing per stage')
    .option('--json', 'print the summary as JSON')
    .option('--no-check-files', 'trust recorded files without checking they exist')
    .option('--problems', 'list every failed item and every ingest issue, each with its file and reason');
  cmd.action(async (opts: { json?: boolean; checkFiles: boolean; problems?: boolean }) => {
    const ctx = stageContext(cmd);
    if (!manifestExists(ctx.manifest)) {
      if (opts.json) console.log(JSON.stringify({ manifest: ctx.manifest, exists: false }));
      else console.log(`no manifest yet at ${ctx.manifest}: run \`pnpm pthnet ingest\` first`);
      return;
    }
    const store = await ManifestStore.open(ctx.manifest);
    try {
      if (opts.problems) {
        const report = await problemsReport(store);
        if (opts.json) console.log(JSON.stringify({ manifest: ctx.manifest, exists: true, ...report }, null, 2));
        else console.log(formatProblems(report));
        return;
      }
      const summary = await store.status.summary({ checkFiles: opts.checkFiles });
      // whole-dataset kinds only: the per-clip features can number hundreds of thousands
      const kinds = ['packed-dataset', 'training-run', 'report', 'cv-report'] as const;
      const folds = foldStatus((await Promise.all(kinds.map((kind) => store.artifacts.listArtifacts({ kind })))).flat());
      if (opts.json) console.log(JSON.stringify({ manifest: ctx.manifest, exists: true, ...summary, ...folds }, null, 2));
      else console.log(formatStatus(summary, ctx.manifest, folds));
    } finally {
      await store.close();
    }
  });
  return cmd;
}
