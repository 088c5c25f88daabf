import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type {
  ArtifactIdentity,
  CheckOptions,
  ClassificationMetrics,
  ConfigFlag,
  DatasetScope,
  Direction,
  FolderContents,
  PackedDatasetSpec,
  PipelineConfig,
  TrainLogRecord,
} from 'shared';
import {
  DATASET_FLAG,
  describeBackend,
  ConfigError,
  ManifestStore,
  addRehashOption,
  artifactCacheKey,
  artifactFolderOf,
  bestCheckpointOf,
  checkArtifact,
  checkClassCount,
  computeMetrics,
  datasetClasses,
  hashFile,
  ensureArtifact,
  packedDatasetIdentity,
  packedDatasetName,
  parseTrainLog,
  readArtifactRecord,
  reportFolder,
  reportIdentity,
  resolveDataset,
  selectBackend,
  stageCommand,
  stageContext,
  trainingRunIdentity,
  verifyOf,
  withStageRun,
} from 'shared';
import type { LoadedPthNetCheckpoint } from 'model';
import { createPthNet, loadPthNetCheckpoint } from 'model';
import { checkPackedStrides, openPackedDataset, predictDataset } from 'train';
import { combineLogits, sweepMu } from '../combine/index.js';
import { compareReportPaths } from '../cv-report/index.js';
import { formatComparison, readReport, writeReport } from '../report/index.js';
import type { PredictionRow, WrittenReport } from '../report/types.js';

const EVAL_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--mu <x>', key: 'eval.mu', description: 'weight of the forward model in the combination (default 0.7)', kind: 'number' },
  { flags: '--sweep', key: 'eval.sweep', description: 'also evaluate mu = 0, 0.1, ..., 1', kind: 'boolean' },
  { flags: '--source <raw|face>', key: 'datasets.source', description: 'which features (datasets) to use', kind: 'string' },
  {
    flags: '--out <dir>',
    key: 'eval.out',
    description: 'report folder, relative to the data dir (default reports/latest)',
    kind: 'string',
  },
];

export interface EvalInputs {
  forward: string;
  reversed?: string;
  split: string;
}

export interface EvalSummary {
  outcome: 'written' | 'up-to-date';
  reportDir: string;
  forward?: ClassificationMetrics;
  reversed?: ClassificationMetrics;
  combined: ClassificationMetrics;
  mu: number;
  clips: number;
}

/** Level-H logits of one checkpoint on one packed dataset, keyed by clip id. */
async function logitsByClip(checkpoint: string, ckpt: LoadedPthNetCheckpoint, datasetDir: string, name: string, batchSize: number) {
  const model = createPthNet(ckpt.config);
  model.loadStateDict(ckpt.stateDict);
  const ds = await openPackedDataset(datasetDir, name);
  try {
    if (ds.D !== ckpt.config.n_in) {
      throw new ConfigError(
        `${checkpoint}: expected ${ds.D}-wide features as in dataset ${name}, got a network taking ${ckpt.config.n_in}`,
      );
    }
    const logits = predictDataset(model, ds, batchSize);
    const K = ckpt.config.num_classes;
    const rows = new Map<string, { label: number; logits: Float32Array }>();
    ds.clipIds.forEach((id, i) => {
      // biome-ignore lint/style/noNonNullAssertion: a packed dataset has one label per clip id
      rows.set(id, { label: ds.labels[i]!, logits: logits.slice(i * K, (i + 1) * K) });
    });
    return { rows, K };
  } finally {
    model.dispose();
    await ds.close();
  }
}

/**
 * The sha256 of a checkpoint. The pipeline's own best checkpoint takes the one its training run's
 * record lists, once the run's files are found unchanged by their stamps (read only where a stamp
 * moved, or with --rehash); any other checkpoint is read and hashed.
 */
async function checkpointHash(store: ManifestStore, checkpoint: string, run: ArtifactIdentity, verify: CheckOptions['verify']) {
  const row = await store.artifacts.getArtifact(run);
  if (row?.status === 'done' && bestCheckpointOf(row.path) === checkpoint) {
    const folder = artifactFolderOf(row.path);
    const plan = await checkArtifact(store, run, { cacheKey: row.cacheKey, path: folder }, verify === undefined ? {} : { verify });
    const listed =
      plan.decision === 'skip' ? (await readArtifactRecord(row.path)).files.find((f) => f.path === basename(checkpoint)) : undefined;
    if (listed !== undefined) return listed.sha256;
  }
  return hashFile(checkpoint);
}

function readCurves(path: string): TrainLogRecord[] | undefined {
  return existsSync(path) ? parseTrainLog(readFileSync(path, 'utf8'), path) : undefined;
}

/** The pipeline's own checkpoints and test datasets, or the flags' overrides. */
async function resolveInputs(
  store: ManifestStore,
  config: PipelineConfig,
  datasetName: string,
  flags: { forward?: string; reversed?: string; fold?: number },
) {
  const source = config.datasets.source;
  const checkpoint = async (direction: Direction, flag: string | undefined) => {
    if (flag !== undefined) {
      if (!existsSync(flag)) throw new ConfigError(`--${direction}: expected an existing checkpoint, got "${flag}"`);
      return resolve(flag);
    }
    const row = await store.artifacts.getArtifact(
      trainingRunIdentity(datasetName, { direction, source, ...(flags.fold === undefined ? {} : { fold: flags.fold }) }),
    );
    const best = row?.status === 'done' ? bestCheckpointOf(row.path) : undefined;
    return best !== undefined && existsSync(best) ? best : undefined;
  };
  const forward = await checkpoint('forward', flags.forward);
  if (forward === undefined)
    throw new ConfigError('eval: expected a forward checkpoint, got none (run `pnpm pthnet train`, or pass --forward <checkpoint>)');
  const reversed = await checkpoint('reversed', flags.reversed);
  const dataset = async (direction: Direction) => {
    const spec: PackedDatasetSpec = { split: config.datasets.testSplit, direction, source };
    const row = await store.artifacts.getArtifact(packedDatasetIdentity(datasetName, spec));
    if (row?.status !== 'done')
      throw new ConfigError(
        `eval: expected the packed dataset ${packedDatasetName(spec)} of ${datasetName}, got ${row ? `one that is ${row.status}` : 'none'} (run \`pnpm pthnet datasets\`)`,
      );
    // only the ledger's complete() marks a row done, and it always records the content hash
    if (row.contentHash === null)
      throw new ConfigError(`eval: the packed dataset ${packedDatasetName(spec)} of ${datasetName} is done but has no content hash`);
    return { spec, contentHash: row.contentHash, dir: artifactFolderOf(row.path) };
  };
  return { forward, reversed, forwardData: await dataset('forward'), reversedData: reversed ? await dataset('reversed') : undefined };
}

/**
 * The checkpoints and test datasets eval would use, checked without writing anything: the
 * datasets done and at `datasets.strides`, each checkpoint read (format, keys, shapes). The
 * command runs it before it records a run, so that a bad `--forward`/`--reversed` leaves the
 * manifest as it was (inside the run it would fail, and demote, the done report).
 */
export async function checkEvalInputs(
  store: ManifestStore,
  config: PipelineConfig,
  scope: DatasetScope,
  flags: { forward?: string; reversed?: string },
): Promise<void> {
  const inputs = await resolveInputs(store, config, scope.name, flags);
  for (const data of [inputs.forwardData, inputs.reversedData]) {
    if (data) await checkPackedStrides(data.dir, packedDatasetName(data.spec), config.datasets.strides);
  }
  for (const checkpoint of [inputs.forward, inputs.reversed]) if (checkpoint !== undefined) await loadPthNetCheckpoint(checkpoint);
}

export async function runEval(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  flags: { forward?: string; reversed?: string; runId?: string; fold?: number; verify?: CheckOptions['verify'] },
): Promise<EvalSummary> {
  const inputs = await resolveInputs(store, config, scope.name, flags);
  // Each network's head must score exactly the dataset's classes: checked before the report is claimed.
  const classes = await datasetClasses(store.clips, scope.name);
  const forwardCkpt = await loadPthNetCheckpoint(inputs.forward);
  const reversedCkpt = inputs.reversed ? await loadPthNetCheckpoint(inputs.reversed) : undefined;
  for (const [flag, path, ckpt] of [
    ['--forward', inputs.forward, forwardCkpt],
    ['--reversed', inputs.reversed, reversedCkpt],
  ] as const) {
    if (ckpt && path)
      checkClassCount(ckpt.config.num_classes, classes.count, `eval ${flag}: the head of ${path}`, `dataset "${scope.name}"`);
  }
  // Test sets packed from features at `datasets.strides`, or an error naming it (checked before
  // a report is found up to date: a changed setting never gets the old report).
  for (const data of [inputs.forwardData, inputs.reversedData]) {
    if (data) await checkPackedStrides(data.dir, packedDatasetName(data.spec), config.datasets.strides);
  }
  const reportDir = reportFolder(dataDir, config.eval.out, scope);
  const identity = reportIdentity(scope.name, config.eval.out);
  const runOf = (direction: Direction) => trainingRunIdentity(scope.name, { direction, source: config.datasets.source });
  const params = { mu: config.eval.mu, sweep: config.eval.sweep, split: config.datasets.testSplit };
  const key = artifactCacheKey('report', {
    params,
    inputs: {
      forward: await checkpointHash(store, inputs.forward, runOf('forward'), flags.verify),
      forwardData: inputs.forwardData.contentHash,
      ...(inputs.reversed && inputs.reversedData
        ? {
            reversed: await checkpointHash(store, inputs.reversed, runOf('reversed'), flags.verify),
            reversedData: inputs.reversedData.contentHash,
          }
        : {}),
    },
  });
  let summary: EvalSummary | undefined;
  // The report folder is the artifact: produceArtifact records its files once they are all written.
  const made = await ensureArtifact(
    store,
    identity,
    { cacheKey: key, path: reportDir, params },
    { writeFolder: writeEvalReport },
    { ...(flags.runId === undefined ? {} : { runId: flags.runId }), ...(flags.verify === undefined ? {} : { verify: flags.verify }) },
  );
  if (made.outcome === 'skipped') {
    if (made.reason === 'taken') throw new ConfigError(`eval: another process is writing ${reportDir}`);
    return summaryFromReport(reportDir, 'up-to-date');
  }
  // writeEvalReport never abandons, so a made report has its summary
  if (summary === undefined) throw new Error(`eval: expected the summary of ${reportDir}, got none`);
  return summary;

  /** Scores the models on the test split and writes the report's files into `reportDir`. */
  async function writeEvalReport(): Promise<FolderContents> {
    const batch = config.train.batchSize;
    const fwd = await logitsByClip(inputs.forward, forwardCkpt, inputs.forwardData.dir, packedDatasetName(inputs.forwardData.spec), batch);
    const rev =
      inputs.reversed && inputs.reversedData && reversedCkpt
        ? await logitsByClip(inputs.reversed, reversedCkpt, inputs.reversedData.dir, packedDatasetName(inputs.reversedData.spec), batch)
        : undefined;
    // Joined by clip id: a clip missing from the reversed dataset is scored on the forward model alone.
    const ids = [...fwd.rows.keys()].filter((id) => rev === undefined || rev.rows.has(id)).sort();
    const K = fwd.K;
    const stack = (get: (id: string) => Float32Array) => {
      const data = new Float32Array(ids.length * K);
      ids.forEach((id, i) => {
        data.set(get(id), i * K);
      });
      return { data, shape: [ids.length, K] as [number, number] };
    };
    const rowOf = (rows: ReadonlyMap<string, { label: number; logits: Float32Array }>, id: string) => {
      const row = rows.get(id);
      // ids are keys of fwd.rows that rev.rows has too
      if (row === undefined) throw new Error(`eval: no logits for clip ${id}`);
      return row;
    };
    const labels = Int32Array.from(ids.map((id) => rowOf(fwd.rows, id).label));
    const forwardLogits = stack((id) => rowOf(fwd.rows, id).logits);
    const reversedLogits = rev ? stack((id) => rowOf(rev.rows, id).logits) : undefined;
    const mu = config.eval.mu;
    const combinedLogits = reversedLogits ? combineLogits(forwardLogits, reversedLogits, mu) : forwardLogits;
    const forward = computeMetrics(forwardLogits, labels);
    const reversed = reversedLogits ? computeMetrics(reversedLogits, labels) : undefined;
    const combined = computeMetrics(combinedLogits, labels);
    const classNames = classes.names;
    const predictions: PredictionRow[] = ids.map((id, i) => {
      const row = (m: { data: Float32Array }) => m.data.subarray(i * K, (i + 1) * K);
      const c = row(combinedLogits);
      let predicted = 0;
      // biome-ignore lint/style/noNonNullAssertion: k and predicted are below K, the length of the row c
      for (let k = 1; k < K; k++) if (c[k]! > c[predicted]!) predicted = k;
      return {
        clipId: id,
        // biome-ignore lint/style/noNonNullAssertion: labels was built from ids, one entry per id
        label: labels[i]!,
        forwardLogits: row(forwardLogits),
        ...(reversedLogits ? { reversedLogits: row(reversedLogits) } : {}),
        combinedLogits: c,
        predicted,
      };
    });
    const curvesForward = readCurves(join(dirname(inputs.forward), 'log.jsonl'));
    const curvesReversed = inputs.reversed ? readCurves(join(dirname(inputs.reversed), 'log.jsonl')) : undefined;
    const written: WrittenReport = await writeReport(reportDir, {
      dataset: scope.name,
      classNames,
      forward,
      ...(reversed ? { reversed } : {}),
      combined,
      mu,
      ...(config.eval.sweep && reversedLogits ? { sweep: sweepMu(forwardLogits, reversedLogits, labels) } : {}),
      predictions,
      curves: { ...(curvesForward ? { forward: curvesForward } : {}), ...(curvesReversed ? { reversed: curvesReversed } : {}) },
      faceCrops: config.datasets.source === 'face',
    });
    summary = { outcome: 'written', reportDir, forward, ...(reversed ? { reversed } : {}), combined, mu, clips: ids.length };
    return { files: [written.metricsJson, written.predictionsCsv, written.reportMd, ...written.charts] };
  }
}

/** The summary of a report already on disk. */
export async function summaryFromReport(reportDir: string, outcome: EvalSummary['outcome']): Promise<EvalSummary> {
  const report = await readReport(reportDir);
  const { forward, reversed, combined } = report.results;
  return {
    outcome,
    reportDir,
    combined,
    mu: report.mu,
    clips: report.numSamples,
    ...(forward ? { forward } : {}),
    ...(reversed ? { reversed } : {}),
  };
}

/** The UAR/WAR table printed at the end of `eval` and of the demo. */
export function formatResultTable(summary: EvalSummary): string {
  const pct = (x: number) => (100 * x).toFixed(2).padStart(6);
  const lines = ['model       UAR     WAR'];
  if (summary.forward) lines.push(`forward   ${pct(summary.forward.uar)}  ${pct(summary.forward.war)}`);
  if (summary.reversed) lines.push(`reversed  ${pct(summary.reversed.uar)}  ${pct(summary.reversed.war)}`);
  lines.push(`combined  ${pct(summary.combined.uar)}  ${pct(summary.combined.war)}   (mu ${summary.mu}, ${summary.clips} test clips)`);
  if (summary.combined.absentClasses.length > 0)
    lines.push(`note: classes absent from the test labels: ${summary.combined.absentClasses.join(', ')} (UAR is over the present classes)`);
  return lines.join('\n');
}

export function command(): Command {
  const cmd = stageCommand('eval', 'evaluate forward, reversed and combined models; write the report', EVAL_FLAGS)
    .option('--forward <checkpoint>', "forward model (ours .safetensors or a reference .pth); default: the pipeline's")
    .option('--reversed <checkpoint>', "reversed model; default: the pipeline's")
    .option('--compare <reports...>', 'print the metric differences between two report folders (eval or cv reports) and exit')
    .option('--json', 'print the summary as JSON');
  addRehashOption(cmd, "the report's files");
  cmd.action(async (opts: { forward?: string; reversed?: string; compare?: string[]; json?: boolean }) => {
    if (opts.compare !== undefined) {
      if (opts.compare.length !== 2) throw new ConfigError(`--compare: expected two report folders, got ${opts.compare.length}`);
      const [a, b] = opts.compare as [string, string];
      const comparison = await compareReportPaths(a, b);
      console.log(opts.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison, { a, b }));
      return;
    }
    const ctx = stageContext(cmd, EVAL_FLAGS);
    const backend = await selectBackend(ctx.config.backend);
    process.stderr.write(`[eval] tfjs backend: ${describeBackend(backend)}\n`);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      let summary: EvalSummary | undefined;
      const scope = await resolveDataset(store.clips, ctx.config.dataset);
      const flags = { ...(opts.forward ? { forward: opts.forward } : {}), ...(opts.reversed ? { reversed: opts.reversed } : {}) };
      await checkEvalInputs(store, ctx.config, scope, flags);
      await withStageRun(store, 'eval', { dataset: scope.name, ...ctx.config.eval }, async (run) => {
        summary = await runEval(store, ctx.config, ctx.dataDir, scope, {
          ...(opts.forward ? { forward: opts.forward } : {}),
          ...(opts.reversed ? { reversed: opts.reversed } : {}),
          runId: run.id,
          verify: verifyOf(cmd),
        });
        return { counts: { written: summary.outcome === 'written' ? 1 : 0 } };
      });
      if (!summary) return;
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else console.log(`${formatResultTable(summary)}\nreport (${summary.outcome}): ${join(summary.reportDir, 'report.md')}`);
    } finally {
      await store.close();
    }
  });
  return cmd;
}
