import { join } from 'node:path';
import type { Command } from 'commander';
import type { CheckOptions, ConfigFlag, DatasetScope, PackedDatasetSpec, PipelineConfig } from 'shared';
import {
  DATASET_FLAG,
  ManifestError,
  ManifestStore,
  addRehashOption,
  artifactCacheKey,
  datasetClasses,
  ensureArtifact,
  packedDatasetFolder,
  packedDatasetIdentity,
  packedDatasetName,
  resolveDataset,
  stageCommand,
  stageContext,
  verifyOf,
  withStageRun,
} from 'shared';
import { LEVELS } from '../sampling/constants.js';
import type { Level } from '../sampling/types.js';
import type { FeatureProblemCode } from '../feature-check/types.js';
import { buildPackedDataset, packedDatasetContents } from '../packed/packed.js';
import type { BuildPackedDatasetResult, PackedClipSource, SkippedClip } from '../packed/types.js';

export interface DatasetOutcome {
  /** The manifest's dataset the split belongs to. */
  dataset: string;
  name: string;
  clips: number;
  /** Clips of the split left out because a level's features are not done. */
  incomplete: Array<{ clipId: string; missing: Level[] }>;
  /** Clips left out because a level's feature file could not be used: the file and why. */
  unusable: Array<{ clipId: string; level: Level; path: string; check: FeatureProblemCode; detail: string }>;
  outcome: 'built' | 'up-to-date' | 'empty' | 'taken';
  indexPath: string;
}

/**
 * Collects, per clip of the dataset's split, the content hashes of the done features of the three
 * levels (what the packed dataset's key is made of). Joined by clip id; a clip missing a level is
 * reported and left out, never shifted onto another. The files' paths are read only when the
 * dataset is (re)built (`withPaths`): an up-to-date rerun at FERV39k size skips 233k of them.
 */
export async function collectDatasetClips(
  store: ManifestStore,
  config: PipelineConfig,
  dataset: string,
  spec: PackedDatasetSpec,
  done?: FeatureHashes,
) {
  const hashesOf = done ?? (await featureHashes(store, config, spec));
  const clips: PlannedClip[] = [];
  const incomplete: DatasetOutcome['incomplete'] = [];
  for (const clip of await store.clips.listClips({ dataset, split: spec.split }, ['id', 'label'])) {
    const hashes = hashesOf.get(clip.id);
    if (hashes === undefined || hashes.includes(undefined)) {
      incomplete.push({ clipId: clip.id, missing: LEVELS.filter((_, i) => hashes?.[i] === undefined) });
      continue;
    }
    clips.push({ id: clip.id, label: clip.label, hashes: hashes as string[] });
  }
  clips.sort((a, b) => a.id.localeCompare(b.id));
  return { clips, incomplete };
}

/** A clip a packed dataset is planned with: its label and its levels' content hashes (H, M, L). */
interface PlannedClip {
  id: string;
  label: number;
  hashes: string[];
}

/**
 * The planned clips with their level files, read now: the features must still be the ones the
 * dataset's key was made of (an import or extraction that changed one since is a conflict to
 * rerun after, not a dataset to pack from other files).
 */
async function withPaths(store: ManifestStore, config: PipelineConfig, spec: PackedDatasetSpec, clips: readonly PlannedClip[]) {
  const rows = await store.artifacts.listArtifactFiles(doneFeaturesOf(spec), ['clipId', 'stride', 'path', 'contentHash']);
  const byKey = new Map(rows.map((row) => [`${row.clipId}\u0000${row.stride}`, row]));
  const strides = config.datasets.strides;
  return clips.map((clip): PackedClipSource => {
    const levels = LEVELS.map((level, i) => {
      const row = byKey.get(`${clip.id}\u0000${strides[level]}`);
      if (row === undefined || row.contentHash !== clip.hashes[i]) {
        throw new ManifestError(
          `datasets ${packedDatasetName(spec)}: clip ${clip.id} level ${level}: expected the features it was planned with, got ${row === undefined ? 'none done' : 'other content'} (changed while packing: run datasets again)`,
        );
      }
      return row.path;
    });
    return { id: clip.id, label: clip.label, levels: { H: levels[0] as string, M: levels[1] as string, L: levels[2] as string } };
  });
}

/**
 * The content hashes of each clip's done features at the levels' strides (H, M, L; undefined where
 * a level is not done), for a spec's direction and source: what the dataset's key is made of. The
 * train and test splits of a direction share them (233k rows at FERV39k size, read once).
 */
async function featureHashes(
  store: ManifestStore,
  config: PipelineConfig,
  spec: Pick<PackedDatasetSpec, 'direction' | 'source'>,
): Promise<FeatureHashes> {
  // (two levels at one stride share its files)
  const levelsOf = new Map<number, number[]>();
  LEVELS.forEach((level, i) => {
    const stride = config.datasets.strides[level];
    levelsOf.set(stride, [...(levelsOf.get(stride) ?? []), i]);
  });
  const hashesOf: FeatureHashes = new Map();
  for (const row of await store.artifacts.listArtifactFiles(doneFeaturesOf(spec), ['clipId', 'stride', 'contentHash'])) {
    const levels = row.stride === null ? undefined : levelsOf.get(row.stride);
    if (row.clipId === null || levels === undefined) continue;
    let hashes = hashesOf.get(row.clipId);
    if (hashes === undefined) {
      hashes = [undefined, undefined, undefined];
      hashesOf.set(row.clipId, hashes);
    }
    for (const level of levels) hashes[level] = row.contentHash ?? '';
  }
  return hashesOf;
}

/** The done features a spec's datasets are packed from: its direction and source. */
function doneFeaturesOf(spec: Pick<PackedDatasetSpec, 'direction' | 'source'>) {
  return { kind: 'features', status: 'done', direction: spec.direction, source: spec.source } as const;
}

/** Per clip, its done features' content hashes by level (H, M, L), undefined where a level is not done. */
type FeatureHashes = Map<string, Array<string | undefined>>;

interface BuildDatasetOptions extends CheckOptions {
  /** `featureHashes` of the spec's direction and source, when the caller already has them. */
  features?: FeatureHashes;
}

/** Builds (or confirms up to date) one packed dataset. */
export async function buildDataset(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  spec: PackedDatasetSpec,
  runId?: string,
  options: BuildDatasetOptions = {},
): Promise<DatasetOutcome> {
  const { features, ...check } = options;
  const name = packedDatasetName(spec);
  const outDir = packedDatasetFolder(dataDir, scope, spec);
  const indexPath = join(outDir, `${name}.index.json`);
  const { clips, incomplete } = await collectDatasetClips(store, config, scope.name, spec, features);
  const base = { dataset: scope.name, name, clips: clips.length, incomplete, unusable: [], indexPath };
  if (clips.length === 0) return { ...base, outcome: 'empty' };
  // The index records the class names; reports and predict take them from the label map itself,
  // so a renamed class needs no repacking (nor, through the packed content, retraining).
  const labelNames = (await datasetClasses(store.clips, scope.name)).names;
  const params = { split: spec.split, direction: spec.direction, source: spec.source, strides: config.datasets.strides };
  const key = artifactCacheKey('packed-dataset', { params, inputs: clips.map((c) => `${c.id}\t${c.label}\t${c.hashes.join(',')}`) });
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
        const made = await buildPackedDataset({
          clips: await withPaths(store, config, spec, clips),
          outDir: folder,
          name,
          strides,
          labelNames,
        });
        built = made;
        return { files: [made.indexPath, ...LEVELS.map((level) => made.dataPaths[level])] };
      },
    },
    { ...check, ...(runId === undefined ? {} : { runId }) },
  );
  if (result.outcome === 'skipped') {
    if (result.reason !== 'up-to-date') return { ...base, outcome: result.reason };
    // what the dataset on disk holds, not what was planned: files the packer left out are not in it
    const packed = await packedDatasetContents(outDir, name);
    return { ...base, clips: packed.size, unusable: unusableOf(packed.skipped), outcome: 'up-to-date' };
  }
  // the folder writer above never abandons: a produced dataset was built by it
  if (built === undefined) throw new Error(`datasets ${name}: expected the builder's result, got none`);
  return { ...base, clips: built.size, unusable: unusableOf(built.skipped), outcome: 'built' };
}

function unusableOf(skipped: readonly SkippedClip[]): DatasetOutcome['unusable'] {
  // an index written before the checks had codes gives none: its reason stands in
  return skipped.map((s) => ({ clipId: s.id, level: s.level, path: s.path, check: s.check ?? 'unreadable', detail: s.detail }));
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
  addRehashOption(cmd, "each packed dataset's files");
  cmd.action(async (opts: { json?: boolean }) => {
    const ctx = stageContext(cmd, DATASET_FLAGS);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      const outcomes: DatasetOutcome[] = [];
      const scope = await resolveDataset(store.clips, ctx.config.dataset);
      await withStageRun(store, 'datasets', { dataset: scope.name, ...ctx.config.datasets }, async (run) => {
        const features = new Map<string, FeatureHashes>();
        for (const spec of datasetSpecs(ctx.config)) {
          if (run.signal.aborted) break;
          const key = `${spec.direction}/${spec.source}`;
          const rows = features.get(key) ?? (await featureHashes(store, ctx.config, spec));
          features.set(key, rows);
          outcomes.push(await buildDataset(store, ctx.config, ctx.dataDir, scope, spec, run.id, { verify: verifyOf(cmd), features: rows }));
        }
        // Issues describe the datasets as they are now: last run's are replaced.
        await store.clips.clearIngestIssues(scope.name, 'unpackable_features');
        for (const o of outcomes)
          for (const u of o.unusable)
            await store.clips.recordIngestIssue({
              dataset: scope.name,
              path: u.path,
              reason: 'unpackable_features',
              detail: `${u.detail} (clip ${u.clipId}, level ${u.level}: left out of ${o.name})`,
              runId: run.id,
            });
        const count = (o: DatasetOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
        const unusable = outcomes.reduce((n, o) => n + o.unusable.length, 0);
        return {
          counts: { built: count('built'), upToDate: count('up-to-date'), empty: count('empty'), unusable },
          // a clip left out for a bad file is a failed item, as `status` shows it
          outcome: unusable > 0 ? 'failed' : 'ok',
        };
      });
      if (opts.json) console.log(JSON.stringify(outcomes, null, 2));
      else
        for (const o of outcomes) {
          const left = o.incomplete.length ? `, ${o.incomplete.length} left out (a level missing)` : '';
          const bad = o.unusable.length ? `, ${o.unusable.length} left out (a feature file unusable)` : '';
          console.log(`datasets ${scope.ownFolder ? `${o.dataset} ` : ''}${o.name}: ${o.outcome}, ${o.clips} clips${left}${bad}`);
          for (const u of o.unusable) console.log(`  ${u.check}: ${u.detail} (clip ${u.clipId}, level ${u.level})`);
        }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
