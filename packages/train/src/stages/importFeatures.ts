import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { ArtifactFileRow, ClipInput, FeatureFolder, RegisteredItem } from 'shared';
import {
  ConfigError,
  InputError,
  ManifestStore,
  REFERENCE_LABELS,
  addRehashOption,
  artifactCacheKey,
  artifactCacheKeyOfInput,
  confinedRelativePath,
  createProgress,
  failArtifact,
  featureIdentity,
  hashBytes,
  parseFeatureFolderName,
  registerArtifacts,
  resolveInside,
  stageCommand,
  stageContext,
  verifyOf,
  withStageRun,
} from 'shared';
import { startFileChecker } from '../feature-check/pool.js';
import type { FeatureFileOk, FeatureProblemCode } from '../feature-check/types.js';
import { readFeatureList } from '../packed/feature-list.js';
import type { FeatureList, FeatureListEntry } from '../packed/types.js';

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

/** A list line that was not used, and why: each is recorded as an ingest issue too. */
export interface ImportRejection {
  /** The list file (relative to `--lists`) and its 1-based line. */
  file: string;
  line: number;
  split: string;
  clipId: string;
  /** The feature file the line names, where it names one inside `--root`. */
  path?: string;
  /**
   * `path_escape`: the path is absolute or leaves `--root`; `unknown_label`: not a class of the
   * dataset; `duplicate`: the clip listed twice in one list (the later line is ignored) or with
   * two labels (the clip is left out); `bad_features`: the file is not usable (`check` says why).
   */
  reason: 'path_escape' | 'unknown_label' | 'duplicate' | 'bad_features';
  check?: FeatureProblemCode;
  detail: string;
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
    /** Lines not used (see `rejected`). */
    rejected: number;
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
  /** Every line not used, with the file and the reason. */
  rejected: ImportRejection[];
}

/** What deciding "unchanged" reads of each done feature row (a FERV39k import reads 233k of them). */
const RECORDED_COLUMNS = ['clipId', 'cacheKey', 'path', 'contentHash', 'fileStamp'] as const;

/** Refused lines printed; the rest are counted (all of them are in `--json` and `status --problems`). */
const PRINTED_REJECTIONS = 50;

/** The ingest-issue reasons an import records; a rerun replaces them (the lists as they are now). */
const IMPORT_ISSUE_REASONS = ['split_conflict', 'path_escape', 'unknown_label', 'duplicate', 'bad_features'] as const;

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
export function findSplitConflicts<T extends { split: string }>(
  listed: ReadonlyMap<string, readonly T[]>,
): Array<{ clipId: string; listed: T[] }> {
  const conflicts: Array<{ clipId: string; listed: T[] }> = [];
  // a few splits, hundreds of thousands of listings: each split's fold worked out once
  const foldOf = new Map<string, string>();
  const fold = (split: string) => {
    const known = foldOf.get(split);
    if (known !== undefined) return known;
    const f = foldOfSplit(split);
    foldOf.set(split, f);
    return f;
  };
  for (const [clipId, places] of listed) {
    // a handful of places per clip: pairs compared in place, without a map per clip
    const conflict = places.some((a, i) => places.some((b, j) => j > i && a.split !== b.split && fold(a.split) === fold(b.split)));
    if (conflict) conflicts.push({ clipId, listed: [...places] });
  }
  return conflicts.sort((a, b) => a.clipId.localeCompare(b.clipId));
}

export interface ImportFeaturesOptions {
  listsDir: string;
  root: string;
  dataset: string;
  labels?: readonly string[];
  runId?: string;
  /** Read and check every file, even one whose stamp (size, mtime, inode) is the one recorded. */
  rehash?: boolean;
  /**
   * Threads that stamp and check the files (the config's `workers`); worker threads are started
   * only for an import of thousands of files. Default 1: this thread.
   */
  threads?: number;
  /** The lists, read already (`readImportLists`); read here when absent. */
  lists?: ImportLists;
}

/**
 * Registers features that already exist in the reference layout as done `extract`
 * artifacts, so that `datasets`, `train` and `eval` run without extraction. Lists are
 * joined by clip id (the trailing `<Scene>/<Emotion>/<ID>` of each path), never by line.
 */
/** The feature folders and their parsed lists under `--lists`: read before anything is recorded. */
export interface ImportLists {
  folders: Array<{ name: string; parsed: FeatureFolder }>;
  lists: Array<{ folder: string; parsed: FeatureFolder; file: string; list: FeatureList }>;
}

/**
 * Reads every `<tag>_16_<stride>[_face][_rv]/<split>.txt` under `listsDir`; a folder without
 * such lists, or a line that does not parse, is an error naming it (`ConfigError`, `InputError`).
 */
export async function readImportLists(listsDir: string): Promise<ImportLists> {
  const folders = (await readdir(listsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, parsed: parseFeatureFolderName(d.name) }))
    .filter((f): f is { name: string; parsed: FeatureFolder } => f.parsed !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (folders.length === 0) {
    throw new ConfigError(`--lists ${listsDir}: expected folders named <tag>_16_<stride>[_face][_rv], got none`);
  }
  const files: Array<{ folder: string; parsed: FeatureFolder; file: string }> = [];
  for (const f of folders) {
    for (const file of (await readdir(join(listsDir, f.name))).filter((n) => n.endsWith('.txt')).sort()) {
      files.push({ folder: f.name, parsed: f.parsed, file: join(listsDir, f.name, file) });
    }
  }
  return { folders, lists: await Promise.all(files.map(async (l) => ({ ...l, list: await readFeatureList(l.file) }))) };
}

export async function importFeatures(store: ManifestStore, options: ImportFeaturesOptions): Promise<ImportSummary> {
  const { folders, lists: parsedLists } = options.lists ?? (await readImportLists(options.listsDir));
  // The class names: `--labels`, else the dataset's stored map, else the FERV39k/DFEW seven. A new
  // dataset named by default must have a name for every label its lists use (11 classes need 11
  // names); once the classes are known, a label outside them is a refused line.
  const stored = await store.clips.getLabelMap(options.dataset);
  const classes = options.labels ? [...options.labels] : stored.length > 0 ? stored : [...REFERENCE_LABELS];
  if (options.labels === undefined && stored.length === 0) {
    const top = parsedLists.reduce((max, l) => l.list.entries.reduce((m, e) => Math.max(m, e.label), max), -1);
    if (top >= classes.length) {
      throw new ConfigError(
        `--labels: expected a name for each label of the lists (0..${top}), got ${classes.length} names (${classes.join(', ')}, the default)`,
      );
    }
  }
  const summary: ImportSummary = { folders: [], clipsAdded: 0, incomplete: [], labelConflicts: [], splitConflicts: [], rejected: [] };

  // Everything is checked before anything is written: a line or file that is refused leaves no
  // clip, artifact or half-done import behind, and the rest goes in whole.
  const lines: ImportLine[] = [];
  const rootDir = resolve(options.root);
  const reject = (
    line: Pick<ImportLine, 'listFile' | 'split' | 'entry'>,
    rest: Omit<ImportRejection, 'file' | 'line' | 'split' | 'clipId'>,
  ) => summary.rejected.push({ file: line.listFile, line: line.entry.line, split: line.split, clipId: line.entry.clipId, ...rest });
  for (const { folder, parsed, file, list } of parsedLists) {
    const split = splitFromListName(file);
    const listFile = relative(options.listsDir, file);
    const folderDir = `${rootDir}${sep}${folder}${sep}`;
    const plainFolder = PLAIN_NAME.test(folder);
    for (const entry of list.entries) {
      const where = () => `${listFile}:${entry.line}`;
      let id = entry.clipId;
      let path: string;
      try {
        // A plain id (`Scene/Emotion/ID`) is already normal and cannot leave the folder: it is
        // appended as it is (confining and resolving 233k paths took longer than stating the files).
        if (plainFolder && PLAIN_ID.test(id)) path = `${folderDir}${id}.npy`;
        else {
          id = confinedRelativePath(entry.clipId, where());
          path = resolveInside(join(rootDir, folder), `${id}.npy`, where());
        }
      } catch (error) {
        if (!(error instanceof InputError) || error.reason !== 'path_escape') throw error;
        reject({ listFile, split, entry }, { reason: 'path_escape', detail: `${error.message} (the path "${entry.rawPath}")` });
        continue;
      }
      if (entry.label >= classes.length) {
        reject(
          { listFile, split, entry },
          {
            reason: 'unknown_label',
            detail: `${where()}: clip ${id} (split ${split}): label ${entry.label} not in 0..${classes.length - 1} (the dataset's ${classes.length} classes)`,
          },
        );
        continue;
      }
      lines.push({ folder, parsed, listFile, split, entry: id === entry.clipId ? entry : { ...entry, clipId: id }, path });
    }
  }

  // The same clip twice in one list: a repeat is ignored (named); two labels anywhere leave it out.
  const firstInList = new Map<string, Map<string, ImportLine>>();
  const kept: ImportLine[] = [];
  for (const line of lines) {
    const inList = firstInList.get(line.listFile) ?? new Map<string, ImportLine>();
    firstInList.set(line.listFile, inList);
    const first = inList.get(line.entry.clipId);
    if (first !== undefined && first.entry.label === line.entry.label) {
      reject(line, {
        reason: 'duplicate',
        path: line.path,
        detail: `${line.listFile}:${line.entry.line}: clip ${line.entry.clipId} listed twice (first at line ${first.entry.line}): line ignored`,
      });
      continue;
    }
    if (first === undefined) inList.set(line.entry.clipId, line);
    kept.push(line);
  }
  const labelsOf = groupBy(kept, (line) => line.entry.clipId);
  const twoLabels = new Set<string>();
  for (const [clipId, at] of labelsOf) {
    const label = (at[0] as ImportLine).entry.label;
    if (at.every((l) => l.entry.label === label)) continue;
    twoLabels.add(clipId);
    const places = at.map((l) => `${l.entry.label} (${classes[l.entry.label]}) at ${l.listFile}:${l.entry.line}`).join(', ');
    reject(at[0] as ImportLine, { reason: 'duplicate', detail: `clip ${clipId} listed with different labels: ${places}: left out` });
  }

  // Every split each clip is listed in: a clip in the train and the test list of one fold goes
  // into neither (see ImportSummary.splitConflicts).
  // (the lines themselves, grouped by clip above: a place object per line is 233k allocations at FERV39k size)
  const listed = labelsOf;
  for (const clipId of twoLabels) listed.delete(clipId);
  summary.splitConflicts = findSplitConflicts(listed).map(({ clipId, listed: at }) => ({
    clipId,
    listed: at.map((l) => ({ split: l.split, file: l.listFile, line: l.entry.line })),
  }));
  const conflicting = new Set(summary.splitConflicts.map((c) => c.clipId));

  // The files, each read once: checked, and hashed for the manifest.
  // A file whose stamp (size, mtime, inode) is the one recorded when it was checked and hashed is
  // unchanged without being read; only the others are read (all of them with `rehash`).
  const refusedFiles: ImportLine[] = [];
  // Registered, not made: the key is the file's own hash (and where it came from); one template per folder.
  const keyOfFolder = new Map(
    folders.map((f) => [f.name, artifactCacheKeyOfInput('features', { folder: f.name, imported: true }, 'file')]),
  );
  const featureKey = (folder: string, contentHash: string) => (keyOfFolder.get(folder) as (hash: string) => string)(contentHash);
  const candidates = kept.filter((l) => !conflicting.has(l.entry.clipId) && !twoLabels.has(l.entry.clipId));
  const checker = startFileChecker(options.threads ?? 1, candidates.length);
  try {
    // Folder by folder, pipelined: the checker's threads stamp a folder's files while this one reads
    // what the manifest holds of it (one query a folder: a query per file would dominate on 233k
    // files), then compares; a folder's rows are dropped once compared (233k of them at FERV39k size).
    const byFolder = groupBy(candidates, (line) => line.folder);
    const stampsOf = new Map<string, Promise<Array<string | null>>>();
    let previous: Promise<unknown> = Promise.resolve();
    for (const [folder, lines] of byFolder) {
      // one folder after another, so that the first is done first
      const stamped = previous.then(() => checker.stamps(lines.map((l) => l.path)));
      // (awaited below in order; a failure is raised there, not as an unhandled rejection)
      stamped.catch(() => undefined);
      stampsOf.set(folder, stamped);
      previous = stamped;
    }
    const toCheck: ImportLine[] = [];
    for (const [folder, lines] of byFolder) {
      const { parsed } = lines[0] as ImportLine;
      const filter = {
        kind: 'features',
        status: 'done',
        direction: parsed.direction,
        stride: parsed.stride,
        source: parsed.source,
      } as const;
      const rows = await store.artifacts.listArtifactFiles(filter, RECORDED_COLUMNS);
      const recorded = new Map(rows.map((r) => [r.clipId ?? '', r]));
      const stamps = (await stampsOf.get(folder)) ?? [];
      lines.forEach((line, i) => {
        const stamp = stamps[i] ?? null;
        const prior = recorded.get(line.entry.clipId);
        if (stamp === null) line.file = 'missing';
        else if (
          !options.rehash &&
          prior !== undefined &&
          prior.path === line.path &&
          prior.fileStamp === stamp &&
          prior.contentHash !== null &&
          prior.cacheKey === featureKey(line.folder, prior.contentHash)
        )
          line.file = 'unchanged';
        else {
          line.prior = prior;
          toCheck.push(line);
        }
      });
    }
    // (no progress line when every file is unchanged: the stamps take about a second at FERV39k size)
    const progress = toCheck.length > 0 ? createProgress({ label: 'import-features', total: toCheck.length, unit: 'files' }) : undefined;
    const items = toCheck.map((line) => ({ path: line.path, expected: { rows: line.entry.windows } }));
    const results = await checker.check(items, (n) => progress?.tick(n));
    progress?.stop();
    results.forEach((check, i) => {
      const line = toCheck[i] as ImportLine;
      if (check.ok) line.file = check;
      // gone between its stamp and its read
      else if (check.code === 'missing') line.file = 'missing';
      else {
        refusedFiles.push(line);
        reject(line, {
          reason: 'bad_features',
          path: line.path,
          check: check.code,
          detail: `${check.detail} (listed at ${line.listFile}:${line.entry.line})`,
        });
      }
    });
  } finally {
    await checker.close();
  }
  // One feature width for the dataset: the most common one; a file of another is refused here
  // rather than failing the packing of a whole split later.
  const widths = new Map<number, number>();
  // (among the files read now: an unchanged file passed this check when it was registered)
  for (const { file: c } of candidates) if (typeof c === 'object') widths.set(c.width, (widths.get(c.width) ?? 0) + 1);
  const width = [...widths].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  for (const line of candidates) {
    const c = line.file;
    if (typeof c !== 'object' || c.width === width) continue;
    line.file = undefined;
    refusedFiles.push(line);
    reject(line, {
      reason: 'bad_features',
      path: line.path,
      check: 'width',
      detail: `${line.path}: expected D = ${width} (the width of most files of this import), got D = ${c.width} (listed at ${line.listFile}:${line.entry.line})`,
    });
  }

  // ---- writes from here on
  if (options.labels !== undefined || stored.length === 0) await store.clips.setLabelMap(options.dataset, classes);
  const importedHash = (clipId: string) => hashBytes(`imported:${options.dataset}:${clipId}`);
  // Issues describe the lists as they are now: last run's are replaced.
  for (const reason of IMPORT_ISSUE_REASONS) await store.clips.clearIngestIssues(options.dataset, reason);
  for (const { clipId, listed: at } of summary.splitConflicts) {
    await store.clips.recordIngestIssue({
      dataset: options.dataset,
      clipId,
      reason: 'split_conflict',
      detail: `listed in ${describeListings(at)}: left out of every split`,
      runId: options.runId ?? null,
    });
  }
  for (const r of summary.rejected) {
    // one row per feature file where there is one (a clip can have several bad files), else per clip
    await store.clips.recordIngestIssue({
      dataset: options.dataset,
      ...(r.path !== undefined && r.reason !== 'duplicate' ? { path: r.path } : { clipId: r.clipId, path: r.path ?? null }),
      reason: r.reason,
      detail: r.detail,
      runId: options.runId ?? null,
    });
  }

  // One query for all clips: a query per list line would dominate on 47k lines.
  // (the columns deciding what moved: the whole row is read only for a clip that did)
  const known = new Map((await store.clips.listClips({}, ['id', 'label', 'split', 'contentHash'])).map((c) => [c.id, c]));
  // A clip an earlier import added takes the split the lists give it now, or none when they conflict.
  const moved: Array<{ id: string; split: string | null }> = [];
  for (const [clipId, at] of listed) {
    const clip = known.get(clipId);
    if (clip === undefined || clip.contentHash !== importedHash(clipId)) continue;
    const first = at[0]?.split ?? null;
    const split = conflicting.has(clipId) ? null : at.every((l) => l.split === first) ? first : clip.split;
    if (split !== clip.split) moved.push({ id: clipId, split });
  }
  // likewise a clip the lists now give two labels: which is right is unknown, so it is in no split
  for (const clipId of twoLabels) {
    const clip = known.get(clipId);
    if (clip !== undefined && clip.contentHash === importedHash(clipId) && clip.split !== null) moved.push({ id: clipId, split: null });
  }
  if (moved.length > 0) {
    const splitOf = new Map(moved.map((m) => [m.id, m.split]));
    const rows = (await store.clips.listClips()).filter((c) => splitOf.has(c.id));
    await store.clips.upsertClips(rows.map((c): ClipInput => ({ ...c, split: splitOf.get(c.id) ?? null })));
  }
  // A file registered by an earlier import and refused now (changed on disk since) is failed with
  // the reason, so that nothing is packed from it; a refused file never registered has its issue only.
  for (const line of refusedFiles) {
    const identity = featureIdentity(line.entry.clipId, line.parsed.direction, line.parsed.stride, line.parsed.source);
    if ((await store.artifacts.getArtifact(identity)) === undefined) continue;
    const rejection = summary.rejected.find((r) => r.path === line.path && r.reason === 'bad_features');
    const params = { folder: line.folder, imported: true };
    const key = artifactCacheKey('features', { params, inputs: { file: `refused:${rejection?.check ?? 'unreadable'}` } });
    await failArtifact(
      store,
      identity,
      { cacheKey: key, path: line.path, params },
      new InputError(rejection?.detail ?? line.path, line.path),
      {
        ...(options.runId === undefined ? {} : { runId: options.runId }),
      },
    );
  }
  const labelOf = new Map([...known.values()].map((c) => [c.id, c.label]));
  const seen = new Map<string, string[]>(); // clip id → folders it was registered from
  const byList = groupBy(kept, (line) => line.listFile);
  for (const { folder, file, list } of parsedLists) {
    const split = splitFromListName(file);
    const listFile = relative(options.listsDir, file);
    const mine = byList.get(listFile) ?? [];
    const row = {
      folder,
      split,
      listed: list.entries.length,
      registered: 0,
      unchanged: 0,
      missingFiles: 0,
      splitConflicts: 0,
      rejected: summary.rejected.filter((r) => r.file === listFile).length,
    };
    const usable = mine.filter((l) => !conflicting.has(l.entry.clipId) && !twoLabels.has(l.entry.clipId));
    row.splitConflicts = mine.filter((l) => conflicting.has(l.entry.clipId)).length;
    const newClips = usable
      .filter((l) => !labelOf.has(l.entry.clipId))
      .map(({ entry }) => ({
        id: entry.clipId,
        dataset: options.dataset,
        split,
        label: entry.label,
        labelName: classes[entry.label] ?? String(entry.label),
        frameCount: 0,
        // An imported clip has no media: its identity is its id, its content the feature files.
        contentHash: importedHash(entry.clipId),
      }));
    summary.clipsAdded += (await store.clips.upsertClips(newClips)).inserted;
    // known from here on without a re-read (a re-read per list read every clip six times over at 233k lines)
    for (const c of newClips) labelOf.set(c.id, c.label);
    // `restamped`: read because its stamp moved, and the same content: only its new stamp is recorded.
    const fresh: RegisteredItem[] = [];
    const restamped: RegisteredItem[] = [];
    for (const line of usable) {
      const { entry, parsed, path } = line;
      const knownLabel = labelOf.get(entry.clipId);
      if (knownLabel !== undefined && knownLabel !== entry.label)
        summary.labelConflicts.push({ clipId: entry.clipId, manifest: knownLabel, list: entry.label });
      const file = line.file;
      if (file === 'missing') row.missingFiles += 1;
      if (file === undefined || file === 'missing') continue;
      const at = seen.get(entry.clipId);
      if (at === undefined) seen.set(entry.clipId, [folder]);
      else at.push(folder);
      if (file === 'unchanged') {
        row.unchanged += 1;
        continue;
      }
      const key = featureKey(folder, file.hash);
      const item = {
        identity: featureIdentity(entry.clipId, parsed.direction, parsed.stride, parsed.source),
        plan: { cacheKey: key, path, params: { folder, imported: true } },
        file: { bytes: file.bytes, contentHash: file.hash, fileStamp: file.stamp },
      };
      const prior = line.prior;
      if (prior !== undefined && prior.cacheKey === key && prior.path === path) restamped.push(item);
      else fresh.push(item);
    }
    const runId = options.runId === undefined ? {} : { runId: options.runId };
    row.registered += (await registerArtifacts(store, fresh, runId)).registered;
    row.unchanged += (await registerArtifacts(store, restamped, runId)).registered;
    summary.folders.push(row);
  }

  // Group folders by tag/source: every clip should be in each stride and direction.
  const groupOf = new Map<string, string[]>();
  for (const f of folders) {
    const names = folders.filter((g) => g.parsed.tag === f.parsed.tag && g.parsed.source === f.parsed.source).map((g) => g.name);
    groupOf.set(f.name, names);
  }
  for (const [clipId, at] of seen) {
    const group = groupOf.get(at[0] as string) ?? [];
    if (group.every((n) => at.includes(n))) continue;
    summary.incomplete.push({ clipId, missingFrom: group.filter((n) => !at.includes(n)) });
  }
  return summary;
}

/** `items` by `key`, each group in the items' order (Map.groupBy, which Node 20 lacks). */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}

/** A folder name, and a clip id of such names, that need no normalising and cannot leave their root. */
const PLAIN_NAME = /^[\w-]+$/;
const PLAIN_ID = /^[\w-]+(\/[\w-]+)*$/;

/** One list line that passed the line checks: its clip id confined, its file inside `--root`. */
interface ImportLine {
  folder: string;
  parsed: FeatureFolder;
  /** The list, relative to `--lists`. */
  listFile: string;
  split: string;
  entry: FeatureListEntry;
  path: string;
  /** What the file check found: set for each line whose file is checked (unset: left out). */
  file?: FeatureFileOk | 'missing' | 'unchanged';
  /** The manifest's done row of a file that was read (its stamp moved): an unchanged hash is only restamped. */
  prior?: Pick<ArtifactFileRow, (typeof RECORDED_COLUMNS)[number]>;
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
    // the lists are read (and a bad one refused) before a run is recorded
    const lists = await readImportLists(listsDir);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      let summary: ImportSummary | undefined;
      await withStageRun(store, 'import-features', { listsDir, root, dataset: opts.dataset }, async (run) => {
        const imported = await importFeatures(store, {
          listsDir,
          root,
          dataset: opts.dataset,
          runId: run.id,
          lists,
          threads: ctx.config.workers,
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
            rejected: imported.rejected.length,
          },
          // a refused line or file is a clip (or a level of one) left out: the exit code says so, as `status` does
          outcome: imported.rejected.length > 0 ? 'failed' : 'ok',
        };
      });
      if (!summary) return;
      if (opts.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      for (const f of summary.folders) {
        const left = f.splitConflicts > 0 ? `, ${f.splitConflicts} left out (split conflict)` : '';
        const refused = f.rejected > 0 ? `, ${f.rejected} refused` : '';
        console.log(
          `${f.folder}/${f.split}: ${f.listed} listed, ${f.registered} registered, ${f.unchanged} unchanged, ${f.missingFiles} files missing${left}${refused}`,
        );
      }
      if (summary.rejected.length > 0) {
        console.log(`${summary.rejected.length} lines not used, each recorded as an ingest issue:`);
        for (const r of summary.rejected.slice(0, PRINTED_REJECTIONS)) console.log(`  ${r.check ?? r.reason}: ${r.detail}`);
        if (summary.rejected.length > PRINTED_REJECTIONS)
          console.log(`  ... and ${summary.rejected.length - PRINTED_REJECTIONS} more (pnpm pthnet status --problems lists them all)`);
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
