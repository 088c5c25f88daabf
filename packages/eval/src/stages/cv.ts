import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { ConfigFlag, DatasetClasses, DatasetScope, PipelineConfig } from 'shared';
import {
  ConfigError,
  DATASET_FLAG,
  ManifestStore,
  artifactCacheKey,
  cvReportFolder,
  cvReportIdentity,
  describeBackend,
  ensureArtifact,
  foldName,
  foldSplit,
  reportIdentity,
  resolveDataset,
  selectBackend,
  stageCommand,
  stageContext,
  withStageRun,
} from 'shared';
import { buildDataset, checkTrainClasses, datasetSpecs, trainDirection, trainDirections } from 'train';
import { CV_REPORT_FILES, readCvReport, writeCvReport } from '../cv-report/index.js';
import type { CvReportFile } from '../cv-report/index.js';
import { readReport } from '../report/index.js';
import type { EvalSummary } from './eval.js';
import { runEval } from './eval.js';

const CV_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--folds <list>', key: 'cv.folds', description: 'folds to run, e.g. 1-5 or 1,3 (default 1-5)', kind: 'numberRange' },
  { flags: '--out <dir>', key: 'cv.out', description: 'cv report folder, relative to the data dir (default reports/cv)', kind: 'string' },
  { flags: '--mu <x>', key: 'eval.mu', description: 'weight of the forward model in the combination (default 0.7)', kind: 'number' },
  { flags: '--source <raw|face>', key: 'datasets.source', description: 'which features (datasets) to use', kind: 'string' },
];

/** What happened to one fold in this run. */
export interface FoldOutcome {
  fold: number;
  /** Packed datasets built now (the others were up to date). */
  built: number;
  /** Directions trained now. */
  trained: number;
  report: EvalSummary['outcome'];
  reportDir: string;
}

export interface CvSummary {
  outcome: 'written' | 'up-to-date' | 'interrupted';
  reportDir: string;
  folds: FoldOutcome[];
  report?: CvReportFile;
}

/**
 * The config of fold `fold`: the fold's splits for datasets, training and evaluation, its
 * report in `<cv.out>/set_<k>`. Everything else is the user's config, so each fold trains and
 * evaluates exactly as `pthnet train` and `pthnet eval` would on those splits.
 */
export function foldConfig(config: PipelineConfig, fold: number): PipelineConfig {
  return {
    ...config,
    datasets: { ...config.datasets, trainSplit: foldSplit(fold, 'train'), testSplit: foldSplit(fold, 'test') },
    eval: { ...config.eval, out: join(config.cv.out, foldName(fold)) },
  };
}

/** Fails before any work when a fold's splits have no clip (the dataset was ingested without those folds). */
async function checkFoldSplits(store: ManifestStore, scope: DatasetScope, folds: readonly number[]): Promise<void> {
  for (const fold of folds) {
    for (const role of ['train', 'test'] as const) {
      const split = foldSplit(fold, role);
      if ((await store.clips.listClips({ dataset: scope.name, split })).length === 0) {
        throw new ConfigError(
          `cv.folds (--folds): expected clips in the split ${split} of ${scope.name}, got none (ingest the dataset with its folds, e.g. "folds": [1, 2, 3, 4, 5] for DFEW; MAFW reads all five)`,
        );
      }
    }
  }
}

/**
 * k-fold cross-validation: per fold, the packed datasets of its splits, the forward and reversed
 * networks, and its report, each an artifact of the manifest as `datasets`, `train` and `eval`
 * make them (with the fold in the training runs' identity), so that an unchanged fold is
 * skipped and an interrupted one resumes where it stopped; then the cv report over the folds.
 * The features are the dataset's, extracted once: a clip's features do not depend on its fold.
 */
export async function runCv(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  scope: DatasetScope,
  options: { classes: DatasetClasses; runId: string; signal?: AbortSignal },
): Promise<CvSummary> {
  const folds = [...config.cv.folds].sort((a, b) => a - b);
  const reportDir = cvReportFolder(dataDir, config.cv.out, scope);
  const outcomes: FoldOutcome[] = [];
  for (const fold of folds) {
    if (options.signal?.aborted) return { outcome: 'interrupted', reportDir, folds: outcomes };
    process.stderr.write(`[cv] fold ${fold} (${folds.indexOf(fold) + 1}/${folds.length}): datasets\n`);
    const cfg = foldConfig(config, fold);
    let built = 0;
    for (const spec of datasetSpecs(cfg)) {
      const made = await buildDataset(store, cfg, dataDir, scope, spec, options.runId);
      if (made.outcome === 'empty')
        throw new ConfigError(`cv fold ${fold}: the split ${spec.split} has no clip with features (run \`pnpm pthnet extract\`)`);
      if (made.outcome === 'built') built += 1;
    }
    let trained = 0;
    for (const direction of trainDirections(cfg)) {
      process.stderr.write(`[cv] fold ${fold}: train ${direction}\n`);
      const run = await trainDirection(store, cfg, dataDir, scope, direction, {
        resume: 'auto',
        runId: options.runId,
        classes: options.classes,
        fold,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (run.outcome === 'interrupted') return { outcome: 'interrupted', reportDir, folds: outcomes };
      if (run.outcome === 'taken') throw new ConfigError(`cv fold ${fold}: another process is training ${direction} (${run.outDir})`);
      if (run.outcome === 'trained') trained += 1;
    }
    process.stderr.write(`[cv] fold ${fold}: eval\n`);
    const evaluated = await runEval(store, cfg, dataDir, scope, { runId: options.runId, fold });
    outcomes.push({ fold, built, trained, report: evaluated.outcome, reportDir: evaluated.reportDir });
  }

  const foldReports = outcomes.map((o) => ({ fold: o.fold, dir: o.reportDir }));
  const inputs: Record<string, string> = {};
  for (const { fold } of foldReports) {
    const row = await store.artifacts.getArtifact(reportIdentity(scope.name, foldConfig(config, fold).eval.out));
    // runEval has just made or confirmed it, so it is done with a content hash
    if (row?.contentHash == null) throw new Error(`cv: expected the done report of fold ${fold}, got ${row?.status ?? 'none'}`);
    inputs[foldName(fold)] = row.contentHash;
  }
  const params = { folds, mu: config.eval.mu };
  const made = await ensureArtifact(
    store,
    cvReportIdentity(scope.name, config.cv.out),
    { cacheKey: artifactCacheKey('cv-report', { params, inputs }), path: reportDir, params },
    {
      writeFolder: async (folder) => {
        const reports = await Promise.all(
          foldReports.map(async ({ fold, dir }) => ({ fold, dir: relative(folder, dir), report: await readReport(dir) })),
        );
        const written = await writeCvReport(folder, { dataset: scope.name, folds: reports });
        return { files: [written.cvJson, written.reportMd, ...written.charts] };
      },
    },
    { runId: options.runId },
  );
  if (made.outcome === 'skipped' && made.reason === 'taken') throw new ConfigError(`cv: another process is writing ${reportDir}`);
  return {
    outcome: made.outcome === 'skipped' ? 'up-to-date' : 'written',
    reportDir,
    folds: outcomes,
    report: await readCvReport(join(reportDir, CV_REPORT_FILES.json)),
  };
}

/** The per-fold UAR/WAR table printed at the end of `cv`. */
export function formatCvTable(report: CvReportFile): string {
  const pct = (x: number | undefined) => (x === undefined ? '   n/a' : (100 * x).toFixed(2).padStart(6));
  const models = (['forward', 'reversed', 'combined'] as const).filter((m) => report.mean[m] !== undefined);
  const lines = [`fold   ${models.map((m) => `${m.padStart(8)} UAR    WAR`).join('  ')}`];
  const row = (name: string, pick: (m: (typeof models)[number]) => { uar: number; war: number } | undefined) =>
    `${name.padEnd(6)} ${models.map((m) => `${' '.repeat(7)}${pct(pick(m)?.uar)} ${pct(pick(m)?.war)}`).join('  ')}`;
  for (const f of report.folds) lines.push(row(`set_${f.fold}`, (m) => f.results[m]));
  lines.push(
    row('mean', (m) => report.mean[m]),
    row('std', (m) => report.std[m]),
  );
  return lines.join('\n');
}

export function command(): Command {
  const cmd = stageCommand(
    'cv',
    'k-fold cross-validation: per fold datasets, train forward and reversed, eval; one report',
    CV_FLAGS,
  ).option('--json', 'print the summary as JSON');
  cmd.addHelpText(
    'after',
    '\nThe dataset must be ingested with its folds (DFEW: "folds": [1, 2, 3, 4, 5]; MAFW: all five by default) and its\n' +
      'features extracted (`pnpm pthnet extract`, once for all folds). Each fold trains with the `train` settings and\n' +
      'is evaluated as `eval` does; rerun after an interruption and it continues in the fold where it stopped.',
  );
  cmd.action(async (opts: { json?: boolean }) => {
    const ctx = stageContext(cmd, CV_FLAGS);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      const scope = await resolveDataset(store.clips, ctx.config.dataset);
      // before any run is recorded: the folds exist, the head fits the classes
      await checkFoldSplits(store, scope, ctx.config.cv.folds);
      const classes = await checkTrainClasses(store, ctx.config, scope);
      const backend = await selectBackend(ctx.config.backend);
      process.stderr.write(`[cv] tfjs backend: ${describeBackend(backend)}\n`);
      let summary: CvSummary | undefined;
      await withStageRun(
        store,
        'cv',
        { dataset: scope.name, cv: ctx.config.cv, train: ctx.config.train, eval: ctx.config.eval },
        async (run) => {
          summary = await runCv(store, ctx.config, ctx.dataDir, scope, { classes, runId: run.id, signal: run.signal });
          const count = (pick: (f: FoldOutcome) => number) => summary?.folds.reduce((n, f) => n + pick(f), 0) ?? 0;
          return {
            counts: {
              folds: summary.folds.length,
              trained: count((f) => f.trained),
              reports: count((f) => (f.report === 'written' ? 1 : 0)),
            },
          };
        },
      );
      if (!summary) return;
      if (opts.json) console.log(JSON.stringify({ ...summary, report: undefined, cv: summary.report }, null, 2));
      else if (summary.report)
        console.log(
          `${formatCvTable(summary.report)}\ncv report (${summary.outcome}): ${join(summary.reportDir, CV_REPORT_FILES.markdown)}`,
        );
      else console.log(`cv: ${summary.outcome} after ${summary.folds.length} fold(s); rerun to continue`);
    } finally {
      await store.close();
    }
  });
  return cmd;
}
