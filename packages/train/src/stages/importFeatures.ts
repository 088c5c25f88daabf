import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { FeatureFolder } from 'shared';
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

export interface ImportSummary {
  folders: Array<{ folder: string; split: string; listed: number; registered: number; unchanged: number; missingFiles: number }>;
  clipsAdded: number;
  /** Clips present in some folders of a tag/source but not in others (a level or direction missing). */
  incomplete: Array<{ clipId: string; missingFrom: string[] }>;
  labelConflicts: Array<{ clipId: string; manifest: number; list: number }>;
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
  if (store.clips.getLabelMap(options.dataset).length === 0) store.clips.setLabelMap(options.dataset, labels);

  const summary: ImportSummary = { folders: [], clipsAdded: 0, incomplete: [], labelConflicts: [] };
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

  // One query for all clips: a query per list line would dominate on 47k lines.
  const clipLabels = new Map(store.clips.listClips().map((c) => [c.id, c.label]));
  for (const { folder, parsed, file, list } of parsedLists) {
    const split = splitFromListName(file);
    const row = { folder, split, listed: list.entries.length, registered: 0, unchanged: 0, missingFiles: 0 };
    const newClips = list.entries
      .filter((e) => !clipLabels.has(e.clipId))
      .map((e) => ({
        id: e.clipId,
        dataset: options.dataset,
        split,
        label: e.label,
        labelName: labels[e.label] ?? String(e.label),
        frameCount: 0,
        // An imported clip has no media: its identity is its id, its content the feature files.
        contentHash: hashBytes(`imported:${options.dataset}:${e.clipId}`),
      }));
    summary.clipsAdded += store.clips.upsertClips(newClips).inserted;
    for (const c of newClips) clipLabels.set(c.id, c.label);
    for (const entry of list.entries) {
      progress.tick();
      const knownLabel = clipLabels.get(entry.clipId);
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
    const store = ManifestStore.open(ctx.manifestPath);
    try {
      let summary: ImportSummary | undefined;
      await withStageRun(store, 'import-features', { listsDir, root, dataset: opts.dataset }, async (run) => {
        const imported = await importFeatures(store, { listsDir, root, dataset: opts.dataset, runId: run.id });
        summary = imported;
        const sum = (k: 'registered' | 'unchanged' | 'missingFiles') => imported.folders.reduce((s, f) => s + f[k], 0);
        return { counts: { registered: sum('registered'), unchanged: sum('unchanged'), missingFiles: sum('missingFiles') } };
      });
      if (!summary) return;
      if (opts.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      for (const f of summary.folders) {
        console.log(
          `${f.folder}/${f.split}: ${f.listed} listed, ${f.registered} registered, ${f.unchanged} unchanged, ${f.missingFiles} files missing`,
        );
      }
      console.log(`${summary.clipsAdded} clips added to the manifest`);
      if (summary.incomplete.length > 0) {
        console.log(`${summary.incomplete.length} clips are missing from a level or direction, e.g.`);
        for (const c of summary.incomplete.slice(0, 5)) console.log(`  ${c.clipId}: not in ${c.missingFrom.join(', ')}`);
      }
      if (summary.labelConflicts.length > 0)
        console.log(`${summary.labelConflicts.length} clips have a different label in the lists than in the manifest`);
    } finally {
      store.close();
    }
  });
  return cmd;
}
