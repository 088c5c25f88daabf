/**
 * `pnpm bench scale`: the pipeline at FERV39k size. Generates the stand-in feature set
 * (`../shared/bench/make_ferv39k_scale.py`, needs python3 with numpy) once into a scratch folder,
 * then runs import-features → datasets → train → eval on a fresh manifest, then every stage again
 * with nothing changed, each as its own `pthnet` process, and prints each stage's time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ManifestStore } from 'shared';
import { CLOCK_TICKS_PER_SECOND, FERV39K_CLIPS, SCALE_STAGES } from './constants.js';
import type { ScaleBenchOptions, ScaleBenchResult, ScaleStage, StageTiming } from './types.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const ANNOTATIONS = path.resolve(REPO, '../shared/data/annotations/ferv39k');
const GENERATOR = path.resolve(REPO, '../shared/bench/make_ferv39k_scale.py');
const PTHNET = path.join(REPO, 'packages/cli/src/pthnet.ts');

/** The feature set of `every`, generated unless a previous run left it complete. */
function ensureFeatureSet(options: Pick<ScaleBenchOptions, 'dir' | 'every' | 'log'>): string {
  const target = path.join(options.dir, `ferv39k-every${options.every}`);
  if (existsSync(path.join(target, 'lists'))) {
    options.log(`feature set: reusing ${target}`);
    return target;
  }
  const check = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  if (check.status !== 0) {
    throw new ConfigError(
      'bench scale: expected python3 with numpy to generate the feature set, got none (Debian: apt-get install python3-numpy)',
    );
  }
  const temp = `${target}.partial`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true });
  options.log(`feature set: generating ${target} (the full set is 4.5 GB)`);
  const made = spawnSync('python3', [GENERATOR, ANNOTATIONS, temp, '1408', '0.05', String(options.every)], { stdio: 'inherit' });
  if (made.status !== 0) throw new ConfigError(`bench scale: ${GENERATOR} failed with status ${made.status}`);
  // renamed only once whole: an interrupted generation is started over, never reused
  renameSync(temp, target);
  return target;
}

/** Files and bytes of the feature set (its .npy files). */
function featureSetSize(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.npy')) continue;
    files += 1;
    bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

function stageArgs(stage: ScaleStage, features: string, options: ScaleBenchOptions): string[] {
  switch (stage) {
    case 'import-features':
      return ['--lists', path.join(features, 'lists'), '--root', features, '--dataset', 'ferv39k'];
    case 'datasets':
      return [];
    case 'train':
      return ['--epochs', String(options.epochs), '--milestones', String(options.epochs + 1)];
    case 'eval':
      return [];
  }
}

/**
 * CPU seconds used by this process's finished children (user + system), from /proc/self/stat
 * (Linux; in USER_HZ ticks, 100 a second): a stage's CPU time is the difference around its run.
 * Undefined elsewhere.
 */
function childrenCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ');
    // after "pid (comm) ": state is field 3; cutime and cstime are fields 16 and 17
    const ticks = Number(fields?.[13]) + Number(fields?.[14]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one stage as `pnpm pthnet` would, and reads its recorded run from the manifest. */
async function runStage(
  stage: ScaleStage,
  config: string,
  manifest: string,
  args: readonly string[],
  log: (line: string) => void,
): Promise<StageTiming> {
  const started = performance.now();
  const cpuBefore = childrenCpuSeconds();
  const child = spawnSync(process.execPath, ['--import', 'tsx', PTHNET, stage, '--config', config, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const processS = (performance.now() - started) / 1000;
  const cpuAfter = childrenCpuSeconds();
  const cpuS = cpuBefore === undefined || cpuAfter === undefined ? null : cpuAfter - cpuBefore;
  if (child.status !== 0) throw new ConfigError(`bench scale: pthnet ${stage} failed with status ${child.status}:\n${child.stdout}`);
  const store = await ManifestStore.open(manifest, { readonly: true });
  try {
    const [run] = await store.runs.listRuns({ stage, limit: 1 });
    if (run?.endedAt == null || run.outcome !== 'ok') {
      throw new ConfigError(`bench scale: expected a finished ${stage} run in ${manifest}, got ${run ? run.outcome : 'none'}`);
    }
    const timing: StageTiming = {
      stage,
      stageS: (run.endedAt.getTime() - run.startedAt.getTime()) / 1000,
      processS,
      cpuS,
      counts: JSON.parse(run.counts ?? '{}') as Record<string, number>,
    };
    const cpu = cpuS === null ? '' : `, ${cpuS.toFixed(2)} s CPU`;
    log(`${stage}: ${timing.stageS.toFixed(2)} s (process ${processS.toFixed(2)} s${cpu}) ${JSON.stringify(timing.counts)}`);
    return timing;
  } finally {
    await store.close();
  }
}

export async function runScaleBench(options: ScaleBenchOptions): Promise<ScaleBenchResult> {
  const features = ensureFeatureSet(options);
  const size = featureSetSize(features);
  const dataDir = path.join(options.dir, `data-every${options.every}`);
  const config = path.join(dataDir, 'pthnet.config.json');
  if (options.rerunOnly) {
    if (!existsSync(config)) throw new ConfigError(`bench scale --rerun-only: expected a previous run in ${dataDir}, got none`);
  } else {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    // The published recipe's defaults; only the data folder is the benchmark's.
    writeFileSync(config, `${JSON.stringify({ dataDir, workers: 2 }, null, 2)}\n`);
  }
  const manifest = ManifestStore.defaultPath(dataDir);
  const stages = SCALE_STAGES.filter((stage) => !options.skipTrain || (stage !== 'train' && stage !== 'eval'));
  const pass = async (label: string) => {
    options.log(`--- ${label}`);
    const timings: StageTiming[] = [];
    for (const stage of stages) timings.push(await runStage(stage, config, manifest, stageArgs(stage, features, options), options.log));
    return timings;
  };
  const first = options.rerunOnly ? [] : await pass('first run');
  const noop = await pass('no-op rerun');
  const sum = (key: 'stageS' | 'processS' | 'cpuS') => noop.reduce((s, t) => s + (t[key] ?? 0), 0);
  return {
    clips: Math.ceil(FERV39K_CLIPS / options.every),
    featureFiles: size.files,
    featureBytes: size.bytes,
    epochs: options.skipTrain ? null : options.epochs,
    first,
    noop,
    noopTotal: { stageS: sum('stageS'), processS: sum('processS'), cpuS: sum('cpuS') },
  };
}

/** The summary table of a result, for stderr. */
export function formatScaleTable(result: ScaleBenchResult): string {
  const cell = (t: Pick<StageTiming, 'stageS' | 'processS' | 'cpuS'> | undefined) =>
    t ? `${t.stageS.toFixed(2)} (${t.processS.toFixed(2)}, ${t.cpuS === null ? '-' : t.cpuS.toFixed(2)})` : '-';
  const lines = [
    `${result.featureFiles} feature files, ${(result.featureBytes / 1e9).toFixed(2)} GB; seconds: stage (whole process, its CPU time)`,
    `${'stage'.padEnd(16)} ${'first run'.padStart(26)} ${'no-op rerun'.padStart(26)}`,
  ];
  for (const t of result.noop) {
    lines.push(`${t.stage.padEnd(16)} ${cell(result.first.find((f) => f.stage === t.stage)).padStart(26)} ${cell(t).padStart(26)}`);
  }
  lines.push(`${'no-op total'.padEnd(16)} ${''.padStart(26)} ${cell(result.noopTotal).padStart(26)}`);
  return lines.join('\n');
}
