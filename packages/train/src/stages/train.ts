import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type {
  CheckOptions,
  ConfigFlag,
  DatasetClasses,
  DatasetScope,
  Direction,
  JsonValue,
  PackedDatasetSpec,
  PipelineConfig,
} from 'shared';
import type { LoadedPthNetCheckpoint } from 'model';
import { loadPthNetCheckpoint, validatePthNetConfig } from 'model';
import {
  DATASET_FLAG,
  describeBackend,
  ConfigError,
  ManifestStore,
  addRehashOption,
  artifactCacheKey,
  artifactFolderOf,
  checkClassCount,
  datasetClasses,
  hashFile,
  listFolderFiles,
  ensureArtifact,
  packedDatasetIdentity,
  packedDatasetName,
  resolveDataset,
  selectBackend,
  stageCommand,
  stageContext,
  trainingRunFolder,
  trainingRunIdentity,
  verifyOf,
  withStageRun,
} from 'shared';
import { checkPackedStrides, openPackedDataset, packedDatasetContents } from '../packed/packed.js';
import type { PackedDatasetContents } from '../packed/types.js';
import { checkInitNetwork, trainRun } from '../trainer/trainer.js';
import type { ResumeMode, TrainRunResult } from '../trainer/types.js';

export const TRAIN_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--epochs <n>', key: 'train.epochs', description: 'epochs (default 20)', kind: 'number' },
  { flags: '--batch-size <n>', key: 'train.batchSize', description: 'clips per step (default 32)', kind: 'number' },
  { flags: '--lr <x>', key: 'train.lr', description: 'learning rate (default 0.005)', kind: 'number' },
  { flags: '--milestones <list>', key: 'train.milestones', description: 'MultiStepLR epochs, e.g. 5,10,15', kind: 'numberList' },
  { flags: '--gamma <x>', key: 'train.gamma', description: 'MultiStepLR factor (default 0.1)', kind: 'number' },
  { flags: '--momentum <x>', key: 'train.momentum', description: 'SGD momentum (default 0.9)', kind: 'number' },
  { flags: '--weight-decay <x>', key: 'train.weightDecay', description: 'SGD weight decay (default 1e-4)', kind: 'number' },
  { flags: '--direction <d>', key: 'train.direction', description: 'forward|reversed|both (default both)', kind: 'string' },
  { flags: '--seed <n>', key: 'train.seed', description: 'seed of weights, shuffling, sampling, noise, drop path', kind: 'number' },
  { flags: '--no-shuffle', key: 'train.shuffle', description: 'keep the dataset order', kind: 'negatedBoolean' },
  { flags: '--noise <sigma>', key: 'train.noise', description: 'Gaussian input noise (default 0.0005)', kind: 'number' },
  { flags: '--drop-path <p>', key: 'train.dropPath', description: 'stochastic depth in the branches (default 0.1)', kind: 'number' },
  { flags: '--source <raw|face>', key: 'datasets.source', description: 'which features (datasets) to use', kind: 'string' },
  {
    flags: '--init <checkpoint>',
    key: 'train.init',
    description: 'initial weights: ours (.safetensors) or a reference .pth',
    kind: 'string',
  },
  { flags: '--out <dir>', key: 'train.out', description: 'runs folder, relative to the data dir (default runs)', kind: 'string' },
];

export function trainDirections(config: PipelineConfig): Direction[] {
  return config.train.direction === 'both' ? ['forward', 'reversed'] : [config.train.direction];
}

export interface TrainOutcome {
  direction: Direction;
  outcome: 'trained' | 'up-to-date' | 'taken' | 'interrupted';
  outDir: string;
  result?: TrainRunResult;
}

/** The done packed dataset of a split (its folder and content hash), or a clear error saying which stage to run. */
async function requireDataset(
  store: ManifestStore,
  dataset: string,
  spec: PackedDatasetSpec,
): Promise<{ folder: string; contentHash: string }> {
  const row = await store.artifacts.getArtifact(packedDatasetIdentity(dataset, spec));
  if (row?.status !== 'done' || row.contentHash === null || !existsSync(row.path)) {
    throw new ConfigError(
      `train: expected the packed dataset ${packedDatasetName(spec)} of ${dataset}, got ${row ? `one that is ${row.status}` : 'none'} (run \`pnpm pthnet datasets\` first)`,
    );
  }
  return { folder: artifactFolderOf(row.path), contentHash: row.contentHash };
}

/**
 * The dataset's classes (`datasetClasses`), checked against `train.model.num_classes` when the
 * config pins it and against the head of the `--init` checkpoint: a disagreement is a
 * `ClassCountError` naming both counts, raised before any run is recorded or trained.
 */
export async function checkTrainClasses(
  store: ManifestStore,
  config: PipelineConfig,
  scope: DatasetScope,
  loaded?: LoadedPthNetCheckpoint,
): Promise<DatasetClasses> {
  const fixed = config.train.model['num_classes'];
  const classes = await datasetClasses(store.clips, scope.name, typeof fixed === 'number' ? fixed : null);
  const checkpoint = loaded ?? (await loadInitCheckpoint(config));
  if (checkpoint !== undefined && config.train.init !== null) {
    checkClassCount(
      checkpoint.config.num_classes,
      classes.count,
      `train.init (--init): the head of ${config.train.init}`,
      `dataset "${scope.name}"`,
    );
  }
  return classes;
}

/**
 * A done run whose network has another class count than the dataset now (a class added to the
 * label map without a clip label changing, so its inputs look the same) is made again: its
 * checkpoint sidecar says how many classes its head has.
 */
async function staleIfOtherHead(
  store: ManifestStore,
  identity: ReturnType<typeof trainingRunIdentity>,
  classes: DatasetClasses,
): Promise<void> {
  const row = await store.artifacts.getArtifact(identity);
  if (row?.status !== 'done') return;
  let head: unknown;
  try {
    const sidecar = join(artifactFolderOf(row.path), 'best.json');
    head = (JSON.parse(readFileSync(sidecar, 'utf8')) as { config?: { num_classes?: unknown } }).config?.num_classes;
  } catch {
    return; // a missing or unreadable sidecar: planning the run finds its files changed anyway
  }
  if (typeof head === 'number' && head !== classes.count) {
    await store.artifacts.invalidate(identity, `the dataset has ${classes.count} classes now, the run's network ${head}`);
  }
}

/**
 * `--resume` where a direction has nothing to resume (no `last` checkpoint, no finished run) is
 * refused before a run is recorded: the trainer would find out only inside a recorded run. A
 * finished run is left to the trainer: up to date, or its inputs changed (then `last` decides).
 */
async function checkResumable(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  direction: Direction,
): Promise<void> {
  const runSpec = { direction, source: config.datasets.source };
  if ((await store.artifacts.getArtifact(trainingRunIdentity(scope.name, runSpec)))?.status === 'done') return;
  const folder = trainingRunFolder(dataDir, config.train.out, scope, runSpec);
  if (!existsSync(join(folder, 'last.json')) && !existsSync(join(folder, 'last.prev.json'))) {
    throw new ConfigError(
      `--resume: expected a last checkpoint of the ${direction} run in ${folder}, got none (run without --resume to start it)`,
    );
  }
}

/** The `--init` checkpoint, loaded (and so checked: format, keys, shapes), or undefined without one. */
export async function loadInitCheckpoint(config: PipelineConfig): Promise<LoadedPthNetCheckpoint | undefined> {
  if (config.train.init === null) return undefined;
  const init = resolve(config.train.init);
  if (!existsSync(init)) throw new ConfigError(`train.init (--init): expected an existing checkpoint, got "${config.train.init}"`);
  return loadPthNetCheckpoint(init);
}

/**
 * What `trainDirection` needs, checked without writing anything: the packed datasets done and
 * at `datasets.strides`, and the `--init` network fitting them. The command runs it for every
 * direction before it records a run, so that a refused command leaves the manifest as it was
 * (a check inside the run would fail the run, and the claim would demote a done training run).
 */
export async function checkTrainInputs(
  store: ManifestStore,
  config: PipelineConfig,
  scope: DatasetScope,
  direction: Direction,
  init: LoadedPthNetCheckpoint | undefined,
): Promise<void> {
  const source = config.datasets.source;
  const specs = [
    { split: config.datasets.trainSplit, direction, source },
    { split: config.datasets.testSplit, direction, source },
  ];
  const contents = [];
  for (const spec of specs) {
    const data = await requireDataset(store, scope.name, spec);
    await checkPackedStrides(data.folder, packedDatasetName(spec), config.datasets.strides);
    contents.push(await packedDatasetContents(data.folder, packedDatasetName(spec)));
  }
  if (init === undefined) return;
  const [train, validation] = contents as [PackedDatasetContents, PackedDatasetContents];
  // as trainRun counts them: the training set's label names, else the largest label seen
  const classes = train.labelNames?.length ?? Math.max(train.maxLabel, validation.maxLabel) + 1;
  checkInitNetwork(config.train, init, train.D, classes);
}

export async function trainDirection(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  direction: Direction,
  options: {
    resume: ResumeMode;
    runId: string;
    signal?: AbortSignal;
    classes: DatasetClasses;
    fold?: number;
    verify?: CheckOptions['verify'];
    init?: LoadedPthNetCheckpoint;
  },
): Promise<TrainOutcome> {
  const source = config.datasets.source;
  const trainSpec: PackedDatasetSpec = { split: config.datasets.trainSplit, direction, source };
  const valSpec: PackedDatasetSpec = { split: config.datasets.testSplit, direction, source };
  const trainData = await requireDataset(store, scope.name, trainSpec);
  const valData = await requireDataset(store, scope.name, valSpec);
  // Packed from features at `datasets.strides`, or an error naming it (checked before a run is
  // found up to date: a changed setting never gets the old result).
  for (const [data, spec] of [
    [trainData, trainSpec],
    [valData, valSpec],
  ] as const) {
    await checkPackedStrides(data.folder, packedDatasetName(spec), config.datasets.strides);
  }
  const init = config.train.init === null ? null : resolve(config.train.init);
  if (init !== null && !existsSync(init)) throw new ConfigError(`train.init: expected an existing checkpoint, got "${config.train.init}"`);
  const { out: _out, ...hyper } = config.train;
  // The direction is the identity, not a parameter: `--direction both` and `forward` share runs.
  const { direction: _direction, ...shared } = hyper;
  const params = JSON.parse(JSON.stringify({ ...shared, init: init === null ? null : 'file', source })) as Record<string, JsonValue>;
  const inputs: Record<string, string> = { train: trainData.contentHash, validation: valData.contentHash };
  if (init !== null) inputs.init = await hashFile(init);
  const key = artifactCacheKey('training-run', { params, inputs });
  const runSpec = { direction, source, ...(options.fold === undefined ? {} : { fold: options.fold }) };
  const outDir = trainingRunFolder(dataDir, config.train.out, scope, runSpec);
  await staleIfOtherHead(store, trainingRunIdentity(scope.name, runSpec), options.classes);
  let result: TrainRunResult | undefined;
  // The run folder is the artifact; produceArtifact renews the claim while training runs for hours.
  const made = await ensureArtifact(
    store,
    trainingRunIdentity(scope.name, runSpec),
    { cacheKey: key, path: outDir, params },
    {
      writeFolder: async (folder) => {
        const [trainSet, valSet] = await Promise.all([
          openPackedDataset(trainData.folder, packedDatasetName(trainSpec)),
          openPackedDataset(valData.folder, packedDatasetName(valSpec)),
        ]);
        try {
          result = await trainRun({
            outDir: folder,
            train: trainSet,
            validation: valSet,
            hyper: config.train,
            ...(options.init === undefined ? {} : { init: options.init }),
            runKey: key,
            resume: options.resume,
            workers: config.workers,
            classes: options.classes.count,
            label: options.fold === undefined ? `train ${direction}` : `train set_${options.fold} ${direction}`,
            ...(options.signal ? { signal: options.signal } : {}),
            provenance: {
              dataset: scope.name,
              direction,
              source,
              trainDataset: packedDatasetName(trainSpec),
              validationDataset: packedDatasetName(valSpec),
            },
          });
        } finally {
          await Promise.all([trainSet.close(), valSet.close()]);
        }
        // Ctrl-C: `last` is saved and the run stays pending; the next `train` continues it.
        if (result.interrupted) return 'abandoned';
        return { files: await listFolderFiles(folder) };
      },
    },
    { runId: options.runId, ...(options.verify === undefined ? {} : { verify: options.verify }) },
  );
  switch (made.outcome) {
    case 'skipped':
      return { direction, outcome: made.reason, outDir };
    case 'abandoned':
      return { direction, outcome: 'interrupted', outDir, ...(result ? { result } : {}) };
    default:
      return { direction, outcome: 'trained', outDir, ...(result ? { result } : {}) };
  }
}

export function command(): Command {
  const cmd = stageCommand('train', 'train PTH-Net on the packed datasets (forward and reversed)', TRAIN_FLAGS)
    .option('--resume', 'continue the last checkpoint of an interrupted run (error if there is none)')
    .option('--restart', 'ignore an interrupted run and start over')
    .option('--json', 'print the outcome as JSON');
  cmd.addHelpText('after', '\nWithout --resume or --restart, an interrupted run with the same settings and data is continued.');
  addRehashOption(cmd, "a finished run's files");
  cmd.action(async (opts: { resume?: boolean; restart?: boolean; json?: boolean }) => {
    const ctx = stageContext(cmd, TRAIN_FLAGS);
    // the network settings are checked before any work, named where the user wrote them
    validatePthNetConfig(ctx.config.train.model, { keyPrefix: 'train.model.' });
    if (opts.resume && opts.restart) throw new ConfigError('--resume and --restart: expected at most one of them, got both');
    const resume: ResumeMode = opts.resume ? 'require' : opts.restart ? 'never' : 'auto';
    const backend = await selectBackend(ctx.config.backend);
    process.stderr.write(`[train] tfjs backend: ${describeBackend(backend)}\n`);
    // the --init checkpoint is read and checked before the manifest is touched
    const init = await loadInitCheckpoint(ctx.config);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      const outcomes: TrainOutcome[] = [];
      const scope = await resolveDataset(store.clips, ctx.config.dataset);
      const classes = await checkTrainClasses(store, ctx.config, scope, init);
      for (const direction of trainDirections(ctx.config)) {
        await checkTrainInputs(store, ctx.config, scope, direction, init);
        if (resume === 'require') await checkResumable(store, ctx.config, ctx.dataDir, scope, direction);
      }
      await withStageRun(store, 'train', { dataset: scope.name, ...ctx.config.train }, async (run) => {
        for (const direction of trainDirections(ctx.config)) {
          if (run.signal.aborted) break;
          const options = {
            resume,
            runId: run.id,
            signal: run.signal,
            classes,
            verify: verifyOf(cmd),
            ...(init === undefined ? {} : { init }),
          };
          outcomes.push(await trainDirection(store, ctx.config, ctx.dataDir, scope, direction, options));
        }
        return {
          counts: {
            trained: outcomes.filter((o) => o.outcome === 'trained').length,
            upToDate: outcomes.filter((o) => o.outcome === 'up-to-date').length,
          },
        };
      });
      if (opts.json)
        console.log(
          JSON.stringify(
            outcomes.map(({ result, ...o }) => ({ ...o, bestEpoch: result?.bestEpoch, bestWar: result?.bestWar })),
            null,
            2,
          ),
        );
      else
        for (const o of outcomes) {
          const best = o.result
            ? `: best WAR ${(100 * o.result.bestWar).toFixed(2)} at epoch ${o.result.bestEpoch} (${o.result.bestPath})`
            : '';
          console.log(`train ${o.direction}: ${o.outcome}${best}`);
        }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
