import { join } from 'node:path';
import type { Command } from 'commander';
import type { ArtifactRow, ConfigFlag, DatasetScope, PackedDatasetSpec, PipelineConfig } from 'shared';
import {
  DATASET_FLAG,
  ManifestStore,
  artifactCacheKey,
  ensureArtifact,
  packedDatasetFolder,
  packedDatasetIdentity,
  packedDatasetName,
  resolveDataset,
  stageCommand,
  stageContext,
  withStageRun,
} from 'shared';
import { LEVELS } from '../sampling/constants.js';
import type { Level } from '../sampling/types.js';
import { buildPackedDataset } from '../packed/packed.js';
import type { BuildPackedDatasetResult, PackedClipSource } from '../packed/types.js';

export interface DatasetOutcome {
  /** The manifest's dataset the split belongs to. */
  dataset: string;
  name: string;
  clips: number;
  /** Clips of the split left out because a level's features are not done. */
  incomplete: Array<{ clipId: string; missing: Level[] }>;
  outcome: 'built' | 'up-to-date' | 'empty' | 'taken';
  indexPath: string;
}

/**
 * Collects, per clip of the dataset's split, the done feature artifacts of the three levels.
 * Joined by clip id; a clip missing a level is reported and left out, never shifted onto another.
 */
export async function collectDatasetClips(store: ManifestStore, config: PipelineConfig, dataset: string, spec: PackedDatasetSpec) {
  const strides = config.datasets.strides;
  const byClip = new Map<string, Map<number, ArtifactRow>>();
  for (const row of await store.artifacts.listArtifacts({
    kind: 'features',
    status: 'done',
    direction: spec.direction,
    source: spec.source,
  })) {
    if (row.clipId === null || row.stride === null) continue;
    const m = byClip.get(row.clipId) ?? new Map<number, ArtifactRow>();
    m.set(row.stride, row);
    byClip.set(row.clipId, m);
  }
  const clips: Array<PackedClipSource & { hashes: string[] }> = [];
  const incomplete: DatasetOutcome['incomplete'] = [];
  for (const clip of await store.clips.listClips({ dataset, split: spec.split })) {
    const rows = byClip.get(clip.id);
    const found = { H: rows?.get(strides.H), M: rows?.get(strides.M), L: rows?.get(strides.L) };
    const { H, M, L } = found;
    if (H === undefined || M === undefined || L === undefined) {
      incomplete.push({ clipId: clip.id, missing: LEVELS.filter((l) => found[l] === undefined) });
      continue;
    }
    const level: Record<Level, ArtifactRow> = { H, M, L };
    clips.push({
      id: clip.id,
      label: clip.label,
      levels: { H: H.path, M: M.path, L: L.path },
      hashes: LEVELS.map((l) => level[l].contentHash ?? ''),
    });
  }
  clips.sort((a, b) => a.id.localeCompare(b.id));
  return { clips, incomplete };
}

/** Builds (or confirms up to date) one packed dataset. */
export async function buildDataset(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  spec: PackedDatasetSpec,
  runId?: string,
): Promise<DatasetOutcome> {
  const name = packedDatasetName(spec);
  const outDir = packedDatasetFolder(dataDir, scope, spec);
  const indexPath = join(outDir, `${name}.index.json`);
  const { clips, incomplete } = await collectDatasetClips(store, config, scope.name, spec);
  const base = { dataset: scope.name, name, clips: clips.length, incomplete, indexPath };
  if (clips.length === 0) return { ...base, outcome: 'empty' };
  const params = { split: spec.split, direction: spec.direction, source: spec.source, strides: config.datasets.strides };
  const key = artifactCacheKey('packed-dataset', { params, inputs: clips.map((c) => `${c.id}\t${c.label}\t${c.hashes.join(',')}`) });
  const labelNames = await store.clips.getLabelMap(scope.name);
  let built: BuildPackedDatasetResult | undefined;
  const result = await ensureArtifact(
    store,
    packedDatasetIdentity(scope.name, spec),
    { cacheKey: key, path: outDir, params },
    {
      // The builder writes each level file and then the index atomically; produceArtifact records them last.
      writeFolder: async (folder) => {
        // `datasets.strides` is honoured, not rejected: SPEC section 3 makes the strides a setting and
        // the network does not depend on them, but a network must be trained, evaluated and used on
        // features at the same strides. So the index records them, and train, eval and predict check.
        const strides = config.datasets.strides;
        const made = await buildPackedDataset({ clips, outDir: folder, name, strides, ...(labelNames.length > 0 ? { labelNames } : {}) });
        built = made;
        return { files: [made.indexPath, ...LEVELS.map((level) => made.dataPaths[level])] };
      },
    },
    runId === undefined ? {} : { runId },
  );
  if (result.outcome === 'skipped') return { ...base, outcome: result.reason };
  // the folder writer above never abandons: a produced dataset was built by it
  if (built === undefined) throw new Error(`datasets ${name}: expected the builder's result, got none`);
  const skipped = built.skipped.map((s) => ({ clipId: s.id, missing: [s.level] }));
  return { ...base, clips: built.size, incomplete: [...incomplete, ...skipped], outcome: 'built' };
}

export function datasetSpecs(config: PipelineConfig): PackedDatasetSpec[] {
  const specs: PackedDatasetSpec[] = [];
  for (const direction of config.extract.directions) {
    for (const split of [config.datasets.trainSplit, config.datasets.testSplit])
      specs.push({ split, direction, source: config.datasets.source });
  }
  return specs;
}

const DATASET_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--source <raw|face>', key: 'datasets.source', description: 'which features to pack', kind: 'string' },
  { flags: '--train-split <name>', key: 'datasets.trainSplit', description: 'training split', kind: 'string' },
  { flags: '--test-split <name>', key: 'datasets.testSplit', description: 'test/validation split', kind: 'string' },
];

export function command(): Command {
  const cmd = stageCommand('datasets', 'pack forward/reversed three-level datasets per split', DATASET_FLAGS).option(
    '--json',
    'print the outcome as JSON',
  );
  cmd.action(async (opts: { json?: boolean }) => {
    const ctx = stageContext(cmd, DATASET_FLAGS);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      const outcomes: DatasetOutcome[] = [];
      const scope = await resolveDataset(store.clips, ctx.config.dataset);
      await withStageRun(store, 'datasets', { dataset: scope.name, ...ctx.config.datasets }, async (run) => {
        for (const spec of datasetSpecs(ctx.config)) {
          if (run.signal.aborted) break;
          outcomes.push(await buildDataset(store, ctx.config, ctx.dataDir, scope, spec, run.id));
        }
        const count = (o: DatasetOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
        return { counts: { built: count('built'), upToDate: count('up-to-date'), empty: count('empty') } };
      });
      if (opts.json) console.log(JSON.stringify(outcomes, null, 2));
      else
        for (const o of outcomes) {
          const left = o.incomplete.length ? `, ${o.incomplete.length} left out (a level missing)` : '';
          console.log(`datasets ${scope.ownFolder ? `${o.dataset} ` : ''}${o.name}: ${o.outcome}, ${o.clips} clips${left}`);
        }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
