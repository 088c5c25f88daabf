import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ClipInput, FeatureFolder } from 'shared';
import {
  ConfigError,
  ManifestStore,
  REFERENCE_LABELS,
  artifactCacheKey,
  createProgress,
  featureIdentity,
  hashBytes,
  ensureArtifact,
  hashFileWithSize,
  parseFeatureFolderName,
  stageCommand,
  stageContext,
  withStageRun,
} from 'shared';
import { readFeatureList } from '../packed/feature-list.js';

/** `train_All.txt` → `train`: the FERV39k lists carry an `_All` suffix that ingest does not. */
export function splitFromListName(file: string): string {
  return basename(file)
    .replace(/\.txt$/i, '')
    .replace(/_all$/i, '');
}

/** Where a clip is listed: the split, the list file and its line (1-based). */
export interface ListedAt {
  split: string;
  file: string;
  line: number;
}

export interface ImportSummary {
  folders: Array<{
    folder: string;
    split: string;
    listed: number;
    registered: number;
    unchanged: number;
    missingFiles: number;
    /** Lines of clips left out because they are listed in conflicting splits. */
    splitConflicts: number;
  }>;
  clipsAdded: number;
  /** Clips present in some folders of a tag/source but not in others (a level or direction missing). */
  incomplete: Array<{ clipId: string; missingFrom: string[] }>;
  labelConflicts: Array<{ clipId: string; manifest: number; list: number }>;
  /**
   * Clips listed in the train and the test (or validation) list of one fold: train/test
   * leakage. Each is left out of both splits (not added, none of its features registered; one
   * an earlier import added is taken out of its split) and recorded as an ingest issue
   * `split_conflict`, so that no result is computed on it silently.
   */
  splitConflicts: Array<{ clipId: string; listed: ListedAt[] }>;
}

/**
 * The fold a split belongs to: its name without the train/test/validation word (`train` and
 * `test` → ``, `set_1_train` and `test_set_1` → `set_1`). A clip may be in several folds (DFEW's
 * five), but in one fold it is in one split only.
 */
export function foldOfSplit(split: string): string {
  return split
    .split(/[-_./\s]+/)
    .filter((word) => word !== '' && !/^(train|test|val|valid|validation)$/i.test(word))
    .join('_');
}

/** The clips listed in two splits of one fold, with every place each is listed. */
export function findSplitConflicts(listed: ReadonlyMap<string, readonly ListedAt[]>): ImportSummary['splitConflicts'] {
  const conflicts: ImportSummary['splitConflicts'] = [];
  for (const [clipId, places] of listed) {
    const splitsByFold = new Map<string, Set<string>>();
    for (const { split } of places) {
      const fold = foldOfSplit(split);
      splitsByFold.set(fold, (splitsByFold.get(fold) ?? new Set()).add(split));
    }
    if ([...splitsByFold.values()].some((splits) => splits.size > 1)) conflicts.push({ clipId, listed: [...places] });
  }
  return conflicts.sort((a, b) => a.clipId.localeCompare(b.clipId));
}

export interface ImportFeaturesOptions {
  listsDir: string;
  root: string;
  dataset: string;
  labels?: readonly string[];
  runId?: string;
}

/**
 * Registers features that already exist in the reference layout as done `extract`
 * artifacts, so that `datasets`, `train` and `eval` run without extraction. Lists are
 * joined by clip id (the trailing `<Scene>/<Emotion>/<ID>` of each path), never by line.
 */
export async function importFeatures(store: ManifestStore, options: ImportFeaturesOptions): Promise<ImportSummary> {
  const labels = options.labels ?? REFERENCE_LABELS;
  const folders = (await readdir(options.listsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, parsed: parseFeatureFolderName(d.name) }))
    .filter((f): f is { name: string; parsed: FeatureFolder } => f.parsed !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (folders.length === 0) {
    throw new ConfigError(`--lists ${options.listsDir}: expected folders named <tag>_16_<stride>[_face][_rv], got none`);
  }
  if ((await store.clips.getLabelMap(options.dataset)).length === 0) await store.clips.setLabelMap(options.dataset, labels);

  const summary: ImportSummary = { folders: [], clipsAdded: 0, incomplete: [], labelConflicts: [], splitConflicts: [] };
  const seen = new Map<string, Set<string>>(); // clip id → folders it was registered from
  const lists: Array<{ folder: string; parsed: FeatureFolder; file: string }> = [];
  for (const f of folders) {
    for (const file of (await readdir(join(options.listsDir, f.name))).filter((n) => n.endsWith('.txt')).sort()) {
      lists.push({ folder: f.name, parsed: f.parsed, file: join(options.listsDir, f.name, file) });
    }
  }
  const parsedLists = await Promise.all(lists.map(async (l) => ({ ...l, list: await readFeatureList(l.file) })));
  const progress = createProgress({
    label: 'import-features',
    total: parsedLists.reduce((s, l) => s + l.list.entries.length, 0),
    unit: 'files',
  });

  // Every split each clip is listed in, before anything is registered: a clip in the train and
  // the test list of one fold goes into neither (see ImportSummary.splitConflicts).
  const listed = new Map<string, ListedAt[]>();
  for (const { file, list } of parsedLists) {
    const split = splitFromListName(file);
    for (const entry of list.entries) {
      const at = listed.get(entry.clipId) ?? [];
      at.push({ split, file: relative(options.listsDir, file), line: entry.line });
      listed.set(entry.clipId, at);
    }
  }
  summary.splitConflicts = findSplitConflicts(listed);
  const conflicting = new Set(summary.splitConflicts.map((c) => c.clipId));
  const importedHash = (clipId: string) => hashBytes(`imported:${options.dataset}:${clipId}`);
  // Issues describe the lists as they are now: last run's conflicts are replaced.
  await store.clips.clearIngestIssues(options.dataset, 'split_conflict');
  for (const { clipId, listed: at } of summary.splitConflicts) {
    await store.clips.recordIngestIssue({
      dataset: options.dataset,
      clipId,
      reason: 'split_conflict',
      detail: `listed in ${describeListings(at)}: left out of every split`,
      runId: options.runId ?? null,
    });
  }

  // One query for all clips: a query per list line would dominate on 47k lines.
  const known = new Map((await store.clips.listClips()).map((c) => [c.id, c]));
  // A clip an earlier import added takes the split the lists give it now, or none when they conflict.
  const moved: ClipInput[] = [];
  for (const [clipId, at] of listed) {
    const clip = known.get(clipId);
    if (clip === undefined || clip.contentHash !== importedHash(clipId)) continue;
    const splits = new Set(at.map((l) => l.split));
    const split = conflicting.has(clipId) ? null : splits.size === 1 ? (at[0]?.split ?? null) : clip.split;
    if (split !== clip.split) moved.push({ ...clip, split });
  }
  await store.clips.upsertClips(moved);
  for (const { folder, parsed, file, list } of parsedLists) {
    const split = splitFromListName(file);
    const row = { folder, split, listed: list.entries.length, registered: 0, unchanged: 0, missingFiles: 0, splitConflicts: 0 };
    const newClips = list.entries
      .filter((e) => !known.has(e.clipId) && !conflicting.has(e.clipId))
      .map((e) => ({
        id: e.clipId,
        dataset: options.dataset,
        split,
        label: e.label,
        labelName: labels[e.label] ?? String(e.label),
        frameCount: 0,
        // An imported clip has no media: its identity is its id, its content the feature files.
        contentHash: importedHash(e.clipId),
      }));
    summary.clipsAdded += (await store.clips.upsertClips(newClips)).inserted;
    for (const c of await store.clips.listClips({ dataset: options.dataset, split })) known.set(c.id, c);
    for (const entry of list.entries) {
      progress.tick();
      if (conflicting.has(entry.clipId)) {
        row.splitConflicts += 1;
        continue;
      }
      const knownLabel = known.get(entry.clipId)?.label;
      if (knownLabel !== undefined && knownLabel !== entry.label)
        summary.labelConflicts.push({ clipId: entry.clipId, manifest: knownLabel, list: entry.label });
      const path = resolve(options.root, folder, `${entry.clipId}.npy`);
      if (!existsSync(path)) {
        row.missingFiles += 1;
        continue;
      }
      const { hash: contentHash, bytes } = await hashFileWithSize(path);
      // Registered, not made: the key is the file's own hash (and where it came from).
      const key = artifactCacheKey('features', { params: { folder, imported: true }, inputs: { file: contentHash } });
      const result = await ensureArtifact(
        store,
        featureIdentity(entry.clipId, parsed.direction, parsed.stride, parsed.source),
        { cacheKey: key, path, params: { folder, imported: true } },
        { register: { bytes, contentHash } },
        { verify: 'size', ...(options.runId === undefined ? {} : { runId: options.runId }) },
      );
      if (result.outcome === 'produced') row.registered += 1;
      else if (result.outcome === 'skipped' && result.reason === 'up-to-date') row.unchanged += 1;
      const at = seen.get(entry.clipId) ?? new Set<string>();
      at.add(folder);
      seen.set(entry.clipId, at);
    }
    summary.folders.push(row);
  }
  progress.stop();

  // Group folders by tag/source: every clip should be in each stride and direction.
  const groups = new Map<string, string[]>();
  for (const f of folders) {
    const g = `${f.parsed.tag}/${f.parsed.source}`;
    groups.set(g, [...(groups.get(g) ?? []), f.name]);
  }
  for (const [clipId, at] of seen) {
    const group = [...groups.values()].find((names) => names.some((n) => at.has(n))) ?? [];
    const missingFrom = group.filter((n) => !at.has(n));
    if (missingFrom.length > 0) summary.incomplete.push({ clipId, missingFrom });
  }
  return summary;
}

/** `train (a/train_All.txt:3, b/train_All.txt:3) and test (a/test_All.txt:7)`: where a clip is listed, by split. */
export function describeListings(listed: readonly ListedAt[]): string {
  const bySplit = new Map<string, string[]>();
  for (const l of listed) bySplit.set(l.split, [...(bySplit.get(l.split) ?? []), `${l.file}:${l.line}`]);
  const parts = [...bySplit].map(([split, places]) => `${split} (${places.join(', ')})`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? '');
}

export function command(): Command {
  const cmd = stageCommand('import-features', 'register features that already exist in the reference layout')
    .requiredOption('--lists <dir>', 'folder holding <tag>_16_<stride>[_face][_rv]/<split>.txt feature lists')
    .option('--root <dir>', 'folder holding <tag>_16_<stride>[_face][_rv]/<Scene>/<Emotion>/<ID>.npy (default: --lists)')
    .option('--dataset <name>', 'dataset name for clips not ingested yet', 'ferv39k')
    .option('--json', 'print the summary as JSON');
  cmd.action(async (opts: { lists: string; root?: string; dataset: string; json?: boolean }) => {
    const ctx = stageContext(cmd);
    const listsDir = resolve(opts.lists);
    if (!existsSync(listsDir)) throw new ConfigError(`--lists: expected an existing folder, got "${opts.lists}"`);
    const root = resolve(opts.root ?? opts.lists);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      let summary: ImportSummary | undefined;
      await withStageRun(store, 'import-features', { listsDir, root, dataset: opts.dataset }, async (run) => {
        const imported = await importFeatures(store, { listsDir, root, dataset: opts.dataset, runId: run.id });
        summary = imported;
        const sum = (k: 'registered' | 'unchanged' | 'missingFiles') => imported.folders.reduce((s, f) => s + f[k], 0);
        return {
          counts: {
            registered: sum('registered'),
            unchanged: sum('unchanged'),
            missingFiles: sum('missingFiles'),
            splitConflicts: imported.splitConflicts.length,
          },
        };
      });
      if (!summary) return;
      if (opts.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      for (const f of summary.folders) {
        const left = f.splitConflicts > 0 ? `, ${f.splitConflicts} left out (split conflict)` : '';
        console.log(
          `${f.folder}/${f.split}: ${f.listed} listed, ${f.registered} registered, ${f.unchanged} unchanged, ${f.missingFiles} files missing${left}`,
        );
      }
      console.log(`${summary.clipsAdded} clips added to the manifest`);
      if (summary.incomplete.length > 0) {
        console.log(`${summary.incomplete.length} clips are missing from a level or direction, e.g.`);
        for (const c of summary.incomplete.slice(0, 5)) console.log(`  ${c.clipId}: not in ${c.missingFrom.join(', ')}`);
      }
      if (summary.labelConflicts.length > 0)
        console.log(`${summary.labelConflicts.length} clips have a different label in the lists than in the manifest`);
      if (summary.splitConflicts.length > 0) {
        // train/test leakage: named in full, never left to a count
        console.log(
          `${summary.splitConflicts.length} clips are listed in two splits of one fold (train/test leakage); each is left out of every split and recorded as an ingest issue:`,
        );
        for (const c of summary.splitConflicts) console.log(`  ${c.clipId}: listed in ${describeListings(c.listed)}`);
      }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
