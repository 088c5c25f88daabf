import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { ArtifactFileRow, ClipInput, FeatureFolder, RegisteredItem } from 'shared';
import {
  ConfigError,
  ManifestStore,
  addRehashOption,
  REFERENCE_LABELS,
  artifactCacheKeyOfInput,
  createProgress,
  featureIdentity,
  fileStampSync,
  hashBytes,
  hashFileSync,
  parseFeatureFolderName,
  registerArtifacts,
  stageCommand,
  stageContext,
  verifyOf,
  withStageRun,
} from 'shared';
import { readFeatureList } from '../packed/feature-list.js';
import { PROGRESS_YIELD_MS } from './constants.js';

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
  /** Hash every file, even one whose stamp (size, mtime, inode) is the one recorded. */
  rehash?: boolean;
}

/**
 * Registers features that already exist in the reference layout as done `extract`
 * artifacts, so that `datasets`, `train` and `eval` run without extraction. Lists are
 * joined by clip id (the trailing `<Scene>/<Emotion>/<ID>` of each path), never by line.
 */
export async function importFeatures(store: ManifestStore, options: ImportFeaturesOptions): Promise<ImportSummary> {
  const folders = (await readdir(options.listsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, parsed: parseFeatureFolderName(d.name) }))
    .filter((f): f is { name: string; parsed: FeatureFolder } => f.parsed !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (folders.length === 0) {
    throw new ConfigError(`--lists ${options.listsDir}: expected folders named <tag>_16_<stride>[_face][_rv], got none`);
  }

  const summary: ImportSummary = { folders: [], clipsAdded: 0, incomplete: [], labelConflicts: [], splitConflicts: [] };
  const seen = new Map<string, Set<string>>(); // clip id → folders it was registered from
  const lists: Array<{ folder: string; parsed: FeatureFolder; file: string }> = [];
  for (const f of folders) {
    for (const file of (await readdir(join(options.listsDir, f.name))).filter((n) => n.endsWith('.txt')).sort()) {
      lists.push({ folder: f.name, parsed: f.parsed, file: join(options.listsDir, f.name, file) });
    }
  }
  const parsedLists = await Promise.all(lists.map(async (l) => ({ ...l, list: await readFeatureList(l.file) })));
  // The label map names every label the lists use (any count from 2): 11 classes need 11 names.
  const stored = store.clips.getLabelMap(options.dataset);
  const names = options.labels ?? (stored.length > 0 ? stored : REFERENCE_LABELS);
  const top = parsedLists.reduce((max, l) => l.list.entries.reduce((m, e) => Math.max(m, e.label), max), -1);
  if (top >= names.length) {
    throw new ConfigError(
      `--labels: expected a name for each label of the lists (0..${top}), got ${names.length} names (${names.join(', ')}${options.labels ? '' : ', the default'})`,
    );
  }
  if (options.labels !== undefined || stored.length === 0) store.clips.setLabelMap(options.dataset, names);
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
    const listFile = relative(options.listsDir, file);
    for (const entry of list.entries) {
      const at = listed.get(entry.clipId) ?? [];
      at.push({ split, file: listFile, line: entry.line });
      listed.set(entry.clipId, at);
    }
  }
  summary.splitConflicts = findSplitConflicts(listed);
  const conflicting = new Set(summary.splitConflicts.map((c) => c.clipId));
  const importedHash = (clipId: string) => hashBytes(`imported:${options.dataset}:${clipId}`);
  // Issues describe the lists as they are now: last run's conflicts are replaced.
  store.clips.clearIngestIssues(options.dataset, 'split_conflict');
  for (const { clipId, listed: at } of summary.splitConflicts) {
    store.clips.recordIngestIssue({
      dataset: options.dataset,
      clipId,
      reason: 'split_conflict',
      detail: `listed in ${describeListings(at)}: left out of every split`,
      runId: options.runId ?? null,
    });
  }

  // One query for all clips: a query per list line would dominate on 47k lines.
  const known = new Map(store.clips.listClips().map((c) => [c.id, c]));
  // A clip an earlier import added takes the split the lists give it now, or none when they conflict.
  const moved: ClipInput[] = [];
  for (const [clipId, at] of listed) {
    const clip = known.get(clipId);
    if (clip === undefined || clip.contentHash !== importedHash(clipId)) continue;
    const splits = new Set(at.map((l) => l.split));
    const split = conflicting.has(clipId) ? null : splits.size === 1 ? (at[0]?.split ?? null) : clip.split;
    if (split !== clip.split) moved.push({ ...clip, split });
  }
  store.clips.upsertClips(moved);
  // One query per feature folder (a query per file would dominate on 233k files), held for its lists only.
  let recorded = { folder: '', byClip: new Map<string, ArtifactFileRow>() };
  const recordedIn = (folder: string, parsed: FeatureFolder) => {
    if (recorded.folder !== folder) {
      const { direction, stride, source } = parsed;
      const rows = store.artifacts.listArtifactFiles({ kind: 'features', direction, stride, source });
      recorded = { folder, byClip: new Map(rows.map((r) => [r.clipId ?? '', r])) };
    }
    return recorded.byClip;
  };
  // Registered, not made: the key is the file's own hash (and where it came from); one template per folder.
  const keyOfFolder = new Map(
    folders.map((f) => [f.name, artifactCacheKeyOfInput('features', { folder: f.name, imported: true }, 'file')]),
  );
  const featureKey = (folder: string, contentHash: string) => (keyOfFolder.get(folder) as (hash: string) => string)(contentHash);
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
        labelName: names[e.label] ?? String(e.label),
        frameCount: 0,
        // An imported clip has no media: its identity is its id, its content the feature files.
        contentHash: importedHash(e.clipId),
      }));
    if (newClips.length > 0) {
      summary.clipsAdded += store.clips.upsertClips(newClips).inserted;
      for (const c of store.clips.listClips({ dataset: options.dataset, split })) known.set(c.id, c);
    }
    const priorRows = recordedIn(folder, parsed);
    const folderPath = resolve(options.root, folder);
    // A file whose stamp (size, mtime, inode) is the one recorded when it was hashed is unchanged
    // without being read; only the others are hashed (all of them with `rehash`).
    const toHash: Array<{ identity: ReturnType<typeof featureIdentity>; path: string; stamp: string; prior: ArtifactFileRow | undefined }> =
      [];
    for (const entry of list.entries) {
      if (conflicting.has(entry.clipId)) {
        row.splitConflicts += 1;
        continue;
      }
      const knownLabel = known.get(entry.clipId)?.label;
      if (knownLabel !== undefined && knownLabel !== entry.label)
        summary.labelConflicts.push({ clipId: entry.clipId, manifest: knownLabel, list: entry.label });
      const path = featurePathIn(folderPath, entry.clipId);
      const now = fileStampSync(path);
      if (now === undefined) {
        row.missingFiles += 1;
        continue;
      }
      const at = seen.get(entry.clipId) ?? new Set<string>();
      at.add(folder);
      seen.set(entry.clipId, at);
      const prior = priorRows.get(entry.clipId);
      const unchanged =
        !options.rehash &&
        prior?.status === 'done' &&
        prior.path === path &&
        prior.fileStamp === now.stamp &&
        prior.contentHash !== null &&
        prior.cacheKey === featureKey(folder, prior.contentHash);
      if (unchanged) row.unchanged += 1;
      else
        toHash.push({
          identity: featureIdentity(entry.clipId, parsed.direction, parsed.stride, parsed.source),
          path,
          stamp: now.stamp,
          prior,
        });
    }
    // the stat pass is quick; a tick per file (233k) would cost more than the stats in a terminal
    progress.tick(list.entries.length - toHash.length);
    // `restamped`: hashed because its stamp moved, and the same content: only its new stamp is recorded.
    const fresh: RegisteredItem[] = [];
    const restamped: RegisteredItem[] = [];
    let yielded = performance.now();
    for (const { identity, path, stamp, prior } of toHash) {
      const { hash: contentHash, bytes } = hashFileSync(path);
      const key = featureKey(folder, contentHash);
      const item = {
        identity,
        plan: { cacheKey: key, path, params: { folder, imported: true } },
        file: { bytes, contentHash, fileStamp: stamp },
      };
      if (prior?.status === 'done' && prior.cacheKey === key && prior.path === path) restamped.push(item);
      else fresh.push(item);
      progress.tick();
      // hashing runs in this thread: let the progress line (and signals) through now and then
      if (performance.now() - yielded > PROGRESS_YIELD_MS) {
        await new Promise((done) => setImmediate(done));
        yielded = performance.now();
      }
    }
    const runId = options.runId === undefined ? {} : { runId: options.runId };
    row.registered += registerArtifacts(store, fresh, runId).registered;
    row.unchanged += registerArtifacts(store, restamped, runId).registered;
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

/**
 * `<folder>/<clip id>.npy`, resolved. A plain id (`Scene/Emotion/ID`) is appended as it is: resolving
 * 233k paths took longer than stating the files.
 */
function featurePathIn(folderPath: string, clipId: string): string {
  return /^[\w-]+(\/[\w-]+)*$/.test(clipId) ? `${folderPath}${sep}${clipId}.npy` : resolve(folderPath, `${clipId}.npy`);
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
    .option('--labels <names>', 'class names in label order, comma separated (default: the FERV39k/DFEW seven)')
    .option('--json', 'print the summary as JSON');
  addRehashOption(cmd, 'every feature file');
  cmd.action(async (opts: { lists: string; root?: string; dataset: string; labels?: string; json?: boolean }) => {
    const ctx = stageContext(cmd);
    const listsDir = resolve(opts.lists);
    if (!existsSync(listsDir)) throw new ConfigError(`--lists: expected an existing folder, got "${opts.lists}"`);
    const root = resolve(opts.root ?? opts.lists);
    const labels = opts.labels?.split(',').map((name) => name.trim());
    if (labels !== undefined && (labels.length < 2 || labels.some((name) => name === '') || new Set(labels).size !== labels.length)) {
      throw new ConfigError(`--labels: expected two or more distinct class names, comma separated, got "${opts.labels}"`);
    }
    const store = ManifestStore.open(ctx.manifestPath);
    try {
      let summary: ImportSummary | undefined;
      await withStageRun(store, 'import-features', { listsDir, root, dataset: opts.dataset }, async (run) => {
        const imported = await importFeatures(store, {
          listsDir,
          root,
          dataset: opts.dataset,
          runId: run.id,
          ...(labels ? { labels } : {}),
          rehash: verifyOf(cmd) === 'hash',
        });
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
      store.close();
    }
  });
  return cmd;
}
