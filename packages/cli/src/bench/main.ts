/** `pnpm bench scale [flags]`: see USAGE. */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchFlags, positiveIntegerFlag } from 'shared';
import { NOOP_TARGET_S } from './constants.js';
import { formatScaleTable, runScaleBench } from './scale.js';

const USAGE = `Usage: pnpm bench scale [flags]
The pipeline at FERV39k size: generates the stand-in feature set (38,935 clips, 233,610 .npy files,
4.5 GB; python3 with numpy) once into the scratch folder, then runs import-features, datasets,
train and eval on a fresh manifest, then each again with nothing changed, each as its own pthnet
process. Prints each stage's time (its recorded run, and the whole process) on stderr, JSON on stdout.

  --dir <folder>     scratch folder (default ${path.join(tmpdir(), 'pthnet-bench-scale')})
  --every <n>        keep every n-th clip, for quick runs (default 1: the full set)
  --epochs <n>       training epochs per direction (default 1; one takes 9-12 min at full size here)
  --skip-train       run import-features and datasets only
  --rerun-only       only the no-op rerun, on the data the previous run left (no first run)
  -h, --help         this text`;

const values = benchFlags(USAGE, {
  dir: { type: 'string', default: path.join(tmpdir(), 'pthnet-bench-scale') },
  every: { type: 'string', default: '1' },
  epochs: { type: 'string', default: '1' },
  'skip-train': { type: 'boolean', default: false },
  'rerun-only': { type: 'boolean', default: false },
});

const result = await runScaleBench({
  dir: path.resolve(values.dir),
  every: positiveIntegerFlag('every', values.every),
  epochs: positiveIntegerFlag('epochs', values.epochs),
  skipTrain: values['skip-train'],
  rerunOnly: values['rerun-only'],
  log: (line) => process.stderr.write(`[bench scale] ${line}\n`),
});
process.stderr.write(`${formatScaleTable(result)}\n`);
if (result.noopTotal.stageS >= NOOP_TARGET_S) {
  process.stderr.write(`[bench scale] the no-op rerun took ${result.noopTotal.stageS.toFixed(2)} s, over the ${NOOP_TARGET_S} s target\n`);
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
