#!/usr/bin/env node
/**
 * `pnpm pthnet <stage> [flags]`: one entry point for every pipeline stage. Each stage lives
 * in its own package; this table only says where, so the dispatcher loads nothing but the
 * stage that runs.
 */
import { PthnetError } from '../errors/index.js';
import type { StageEntry, StageModule } from './types.js';

const stage = (name: string, summary: string, load: () => Promise<StageModule>): StageEntry => ({ name, summary, load });

export const STAGES: readonly StageEntry[] = [
  stage('ingest', 'register clips (videos or frame folders) and their labels in the manifest', () => import('../../../extract/src/stages/ingest.js')),
  stage('extract', 'VideoMAE v2 feature pyramids to .npy, forward and reversed', () => import('../../../extract/src/stages/extract.js')),
  stage('import-features', 'register features that already exist in the reference layout', () => import('../../../train/src/stages/importFeatures.js')),
  stage('datasets', 'pack forward/reversed three-level datasets per split', () => import('../../../train/src/stages/datasets.js')),
  stage('train', 'train PTH-Net on the packed datasets (forward and reversed)', () => import('../../../train/src/stages/train.js')),
  stage('eval', 'evaluate forward, reversed and combined models; write the report', () => import('../../../eval/src/stages/eval.js')),
  stage('predict', 'classify one video or frame folder end to end', () => import('../../../eval/src/stages/predict.js')),
  stage('status', 'what the manifest holds: done, stale, failed, missing per stage', () => import('../stages/status.js')),
  stage('demo', 'generate the built-in demo set and run the whole pipeline on it', () => import('../../../eval/src/stages/demo.js')),
];

function usage(): string {
  const width = Math.max(...STAGES.map((s) => s.name.length));
  return [
    'Usage: pnpm pthnet <stage> [flags]',
    '',
    'Stages:',
    ...STAGES.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'Run `pnpm pthnet <stage> --help` for the flags of a stage.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const entry = STAGES.find((s) => s.name === name);
  if (!entry) {
    console.error(`pthnet: unknown stage "${name}"; expected one of ${STAGES.map((s) => s.name).join(', ')}\n\n${usage()}`);
    return 2;
  }
  const cmd = (await entry.load()).command();
  cmd.name(`pthnet ${entry.name}`);
  cmd.exitOverride();
  try {
    await cmd.parseAsync([...rest], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (err instanceof PthnetError) {
      console.error(`pthnet ${entry.name}: ${err.message}`);
      if (process.env.PTHNET_DEBUG && err.cause) console.error(err.cause);
      return 1;
    }
    throw err;
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('pthnet.ts');
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
