import PQueue from 'p-queue';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { BigIntStats } from 'node:fs';
import type { ClipInput, ClipSourceInput, ClipSourceRow, DatasetSourceConfig } from 'shared';
import {
  ConfigError,
  ManifestStore,
  addRehashOption,
  createProgress,
  hashBytes,
  stageCommand,
  stageContext,
  stampOf,
  verifyOf,
  withStageRun,
} from 'shared';
import { findLayout, layoutDefinitions } from '../layouts/registry.js';
import type { ClipCandidate, IngestProblemCode, LayoutConfigBase, LayoutDefinition, SourceRef, SourceRole } from '../layouts/types.js';
import { SourceError, problemOfFsError } from '../probe/errors.js';
import { listFrameFiles } from '../probe/frames-folder.js';
import { hashSource } from '../probe/hash.js';
import { probeSource } from '../probe/probe.js';

export interface IngestSummary {
  dataset: string;
  clips: number;
  inserted: number;
  updated: number;
  unchanged: number;
  artifactsMarkedStale: number;
  /** Problems found, counted by code. */
  problems: Partial<Record<IngestProblemCode, number>>;
  /** Every problem: its code, the file (and line) or clip, and what is wrong. */
  issues: IngestIssueReport[];
}

/** One problem as the summary names it. */
export interface IngestIssueReport {
  code: IngestProblemCode;
  clipId?: string;
  path?: string;
  detail: string;
}

/** Problems printed per dataset; the rest are counted (all of them are in `status --problems` and `--json`). */
const PRINTED_ISSUES = 20;

/**
 * The layout's validated options for one `ingest.datasets` entry: the entry's `name` is offered
 * as `dataset` (layouts with a fixed dataset name ignore it), paths resolve against `cwd`.
 */
function layoutConfig(entry: DatasetSourceConfig, cwd: string): { definition: LayoutDefinition; config: LayoutConfigBase } {
  const { name, ...rest } = entry as DatasetSourceConfig & Record<string, unknown>;
  try {
    const definition = findLayout(entry.layout);
    return { definition, config: definition.validate({ ...rest, dataset: name }, { cwd }) };
  } catch (cause) {
    throw new ConfigError(`ingest.datasets "${name}": ${(cause as Error).message}`, { cause });
  }
}

interface ProbedSource {
  role: SourceRole;
  row: ClipSourceInput;
}

/**
 * The stamp (size, mtime, inode: `stampOf`) of a video, or of every file of a frame folder: when
 * it is unchanged the content is taken as unchanged, so re-ingesting an unchanged tree reads no
 * file contents. `rehash` turns this off (a file changed without its stamp changing).
 */
export async function fileStamp(ref: SourceRef): Promise<string> {
  if (ref.kind === 'video') return stampOf(await stat(ref.path, { bigint: true }));
  const files = await listFrameFiles(ref.path);
  const stats = await Promise.all(files.map((f) => stat(f, { bigint: true })));
  return `${files.length}:${hashBytes(files.map((f, i) => `${f}\t${stampOf(stats[i] as BigIntStats)}`).join('\n'))}`;
}

/**
 * Probes one source, reusing the recorded probe when the content is unchanged (same stamp,
 * or same hash): counting frames decodes the whole clip, hashing reads it, a stamp does neither.
 */
async function probeWithCache(
  known: ClipSourceRow | undefined,
  clipId: string,
  role: SourceRole,
  ref: SourceRef,
  rehash: boolean,
): Promise<ProbedSource> {
  const stamp = await fileStamp(ref);
  const reuse = (prior: NonNullable<typeof known>, contentHash: string): ProbedSource => ({
    role,
    row: {
      clipId,
      kind: role,
      path: ref.path,
      contentHash,
      frameCount: prior.frameCount,
      fps: prior.fps,
      width: prior.width,
      height: prior.height,
      isFrameFolder: prior.isFrameFolder,
      fileStamp: stamp,
    },
  });
  if (!rehash && known && known.path === ref.path && known.fileStamp === stamp) return reuse(known, known.contentHash);
  const contentHash = await hashSource(ref);
  if (known && known.contentHash === contentHash && known.path === ref.path) return reuse(known, contentHash);
  const probe = await probeSource(ref, { hash: false });
  if (probe.frameCount <= 0) throw new SourceError('zero_length', `${ref.path}: expected at least one frame, got none`, ref.path);
  return {
    role,
    row: {
      clipId,
      kind: role,
      path: ref.path,
      contentHash,
      frameCount: probe.frameCount,
      fps: probe.fps,
      width: probe.width,
      height: probe.height,
      isFrameFolder: ref.kind === 'frames',
      fileStamp: stamp,
    },
  };
}

/** Ingests one configured dataset: layout → probe every source → clips, sources, issues. */
export async function ingestDataset(
  store: ManifestStore,
  entry: DatasetSourceConfig,
  options: { cwd: string; runId: string; signal?: AbortSignal; concurrency?: number; rehash?: boolean },
): Promise<IngestSummary> {
  const { definition, config } = layoutConfig(entry, options.cwd);
  const layout = await definition.read(config);
  const dataset = entry.name;
  await store.clips.setLabelMap(
    dataset,
    layout.labelMap.map((l) => l.name),
  );
  // Issues describe the tree as it is now: last run's are replaced, not accumulated.
  await store.clips.clearIngestIssues(dataset);
  const problems: Partial<Record<IngestProblemCode, number>> = {};
  const issues: IngestIssueReport[] = [];
  // The code is the reader's (or the probe's) own: never inferred from the wording of the detail.
  const record = async (code: IngestProblemCode, detail: string, clipId?: string, path?: string) => {
    problems[code] = (problems[code] ?? 0) + 1;
    issues.push({ code, ...(clipId === undefined ? {} : { clipId }), ...(path === undefined ? {} : { path }), detail });
    await store.clips.recordIngestIssue({
      dataset,
      clipId: clipId ?? null,
      path: path ?? null,
      reason: code,
      detail,
      runId: options.runId,
    });
  };
  for (const p of layout.problems) await record(p.code, p.detail, p.clipId, p.path);

  // one query for every recorded source of the dataset, not one per file
  const recorded = new Map((await store.clips.listClipSources(dataset)).map((row) => [`${row.clipId}\u0000${row.kind}`, row]));
  const progress = createProgress({ label: `ingest ${dataset}`, total: layout.clips.length, unit: 'clips' });
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const clipRows: ClipInput[] = [];
  const memberships = new Map<string, readonly string[]>();
  const sourceRows: ClipSourceInput[] = [];
  const ingestOne = async (clip: ClipCandidate) => {
    if (options.signal?.aborted) return;
    const probed: ProbedSource[] = [];
    for (const role of ['raw', 'face'] as const) {
      const ref = clip.sources[role];
      if (!ref) continue;
      try {
        const known = recorded.get(`${clip.id}\u0000${role}`);
        probed.push(await probeWithCache(known, clip.id, role, ref, options.rehash ?? false));
      } catch (error) {
        // a plain file-system error (the stamp's stat) says by its errno whether the file is gone
        await record(error instanceof SourceError ? error.problem : problemOfFsError(error), (error as Error).message, clip.id, ref.path);
      }
    }
    progress.tick();
    const primary = probed.find((p) => p.role === 'raw') ?? probed[0];
    if (primary === undefined) return;
    clipRows.push({
      id: clip.id,
      dataset,
      split: clip.split,
      label: clip.label,
      labelName: clip.labelName,
      frameCount: primary.row.frameCount,
      fps: primary.row.fps ?? null,
      width: primary.row.width ?? null,
      height: primary.row.height ?? null,
      // The clip changes when any of its sources does.
      contentHash: hashBytes(
        probed
          .map((p) => `${p.role}:${p.row.contentHash}`)
          .sort()
          .join('\n'),
      ),
    });
    sourceRows.push(...probed.map((p) => p.row));
    if (clip.splits !== undefined) memberships.set(clip.id, clip.splits);
  };
  await Promise.all(layout.clips.map((clip) => queue.add(() => ingestOne(clip))));
  progress.stop();

  clipRows.sort((a, b) => a.id.localeCompare(b.id));
  const counts = await store.clips.upsertClips(clipRows);
  const sourceCounts = await store.clips.upsertClipSources(sourceRows);
  const splits = new Map<string, string[]>();
  // A clip's own split, and each fold split it is in (DFEW, MAFW), by name.
  for (const c of clipRows) {
    for (const split of [...(c.split ? [c.split] : []), ...(memberships.get(c.id) ?? [])]) {
      const ids = splits.get(split) ?? [];
      ids.push(c.id);
      splits.set(split, ids);
    }
  }
  for (const [split, ids] of splits) await store.clips.setSplitMembers(dataset, split, ids);
  return {
    dataset,
    clips: clipRows.length,
    inserted: counts.inserted,
    updated: counts.updated,
    unchanged: counts.unchanged,
    artifactsMarkedStale: counts.artifactsMarkedStale + sourceCounts.artifactsMarkedStale,
    problems,
    issues,
  };
}

/** The detail, with the file or clip in front when the detail does not name it already. */
function describeIssue(issue: IngestIssueReport): string {
  const subject = issue.path ?? issue.clipId;
  return subject === undefined || issue.detail.includes(subject) ? issue.detail : `${subject}: ${issue.detail}`;
}

export function command(): Command {
  const cmd = stageCommand('ingest', 'register clips (videos or frame folders) and their labels in the manifest')
    .option('--dataset <name>', 'ingest only this configured dataset')
    .option('--json', 'print the summary as JSON');
  addRehashOption(cmd, 'every clip file');
  // the registered layouts, as they are when the help is shown
  cmd.addHelpText(
    'after',
    () =>
      '\nDatasets come from `ingest.datasets` in pthnet.config.json, e.g.\n' +
      '  { "name": "ferv39k", "layout": "ferv39k", "root": "/data/FERV39k", "sources": ["raw", "face"] }\n' +
      `Layouts ("layout"):\n${layoutDefinitions()
        .map((layout) => `  ${layout.name.padEnd(16)} ${layout.summary}`)
        .join('\n')}`,
  );
  cmd.action(async (opts: { dataset?: string; json?: boolean }) => {
    const ctx = stageContext(cmd);
    const datasets = ctx.config.ingest.datasets.filter((d) => opts.dataset === undefined || d.name === opts.dataset);
    if (datasets.length === 0) {
      throw new ConfigError(
        opts.dataset === undefined
          ? 'ingest.datasets: expected at least one dataset, got none (add one to pthnet.config.json)'
          : `--dataset: expected one of ${ctx.config.ingest.datasets.map((d) => d.name).join(', ') || '(none configured)'}, got "${opts.dataset}"`,
      );
    }
    // every dataset's layout options are checked before a run is recorded
    for (const entry of datasets) layoutConfig(entry, process.cwd());
    const store = await ManifestStore.open(ctx.manifest);
    try {
      const summaries: IngestSummary[] = [];
      await withStageRun(store, 'ingest', ctx.config.ingest, async (run) => {
        for (const entry of datasets) {
          if (run.signal.aborted) break;
          summaries.push(
            await ingestDataset(store, entry, { cwd: process.cwd(), runId: run.id, signal: run.signal, rehash: verifyOf(cmd) === 'hash' }),
          );
        }
        const total = (k: 'inserted' | 'updated' | 'unchanged') => summaries.reduce((s, x) => s + x[k], 0);
        const problems = summaries.reduce((n, x) => n + x.issues.length, 0);
        // A recorded problem is a clip, list line or folder left out: the exit code says so, as `status` does.
        return {
          counts: { inserted: total('inserted'), updated: total('updated'), unchanged: total('unchanged'), problems },
          outcome: problems > 0 ? 'failed' : 'ok',
        };
      });
      if (opts.json) console.log(JSON.stringify(summaries, null, 2));
      else
        for (const s of summaries) {
          const probs =
            Object.entries(s.problems)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ') || 'none';
          console.log(
            `ingest ${s.dataset}: ${s.clips} clips (${s.inserted} new, ${s.updated} changed, ${s.unchanged} unchanged); ` +
              `${s.artifactsMarkedStale} artifacts marked stale; problems: ${probs}`,
          );
          for (const issue of s.issues.slice(0, PRINTED_ISSUES)) console.log(`  ${issue.code}: ${describeIssue(issue)}`);
          if (s.issues.length > PRINTED_ISSUES)
            console.log(`  ... and ${s.issues.length - PRINTED_ISSUES} more (pnpm pthnet status --problems lists them all)`);
        }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
