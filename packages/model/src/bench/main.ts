/**
 * `pnpm bench model`: PTH-Net training and inference throughput, one JSON object on stdout.
 * Options: --backends node-gpu,node,wasm,cpu --seconds 5 --batch 32 --workers 2 --slow-step-seconds 20 --seed 0 --profile
 */
import { PthnetError } from 'shared';
import { formatBenchReport, parseBenchArgs, runPthNetBenchmark } from './bench.js';
import { formatProfile, runPthNetProfile } from './profile.js';

const USAGE = `Usage: pnpm bench model [flags]
PTH-Net training (forward + backward + SGD, three levels) and inference (level H) throughput in
clips/s at the full FERV39k config, in this thread and data-parallel on worker threads, for each
backend that loads (wasm twice: its own kernels, then the native addon where it is built: OpenBLAS
matMuls and native layer kernels on every core). Prints a summary with the best configuration on
stderr and one JSON object on stdout.

  --backends <list>          comma-separated, of node-gpu, node, wasm, cpu (default: all)
  --seconds <s>              timed seconds per phase (default 5)
  --batch <n>                clips per batch (default 32)
  --workers <n>              data-parallel worker threads, 0 or 1 for none (default 2)
  --slow-step-seconds <s>    a warm-up step slower than this is the only one timed (default 20)
  --seed <n>                 weights and data seed (default 0)
  --native-only              on wasm, only the native addon's configurations
  --profile                  instead: time every kernel of one training step (forward, backward,
                             SGD update) and one inference batch in this thread, on each backend
                             in its best configuration; a table by time on stderr, JSON on stdout
  -h, --help                 this text`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

try {
  const options = parseBenchArgs(process.argv.slice(2));
  if (options.profile) {
    const profile = await runPthNetProfile(options);
    process.stderr.write(`${formatProfile(profile)}\n`);
    process.stdout.write(`${JSON.stringify(profile)}\n`);
  } else {
    const report = await runPthNetBenchmark(options);
    process.stderr.write(`${formatBenchReport(report)}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
} catch (error) {
  process.stderr.write(`${error instanceof PthnetError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
}
