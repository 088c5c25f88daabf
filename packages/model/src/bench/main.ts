/**
 * `pnpm bench model`: PTH-Net training and inference throughput, one JSON object on stdout.
 * Options: --backends node-gpu,node,wasm,cpu --seconds 5 --batch 32 --workers 2 --slow-step-seconds 20 --seed 0
 */
import { PthnetError } from 'shared';
import { parseBenchArgs, runPthNetBenchmark } from './bench.js';

try {
  const report = await runPthNetBenchmark(parseBenchArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof PthnetError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
}
