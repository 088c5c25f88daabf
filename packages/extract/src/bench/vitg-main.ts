/**
 * `pnpm bench vitg [--dir <scratch>] [--workers 2] [--batch 4] [--calls 1] [--seed 0]
 * [--weight-budget <size>] [--backend wasm]`: ViT-g/14 extraction with streamed weights; JSON on
 * stdout, progress on stderr.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { BackendPreference } from 'shared';
import { ConfigError, benchFlags, formatByteSize, parseByteSize } from 'shared';
import { benchVitg } from './vitg.js';

const USAGE = `Usage: pnpm bench vitg [flags]
VideoMAE v2 ViT-g/14 (1.01 B parameters) on worker threads with random weights: builds the
checkpoint in the official key layout once in a scratch folder (3.8 GB; reused by later runs),
extracts windows with the weights streamed from it, and prints windows/s, GFLOP/s and the peak
resident memory of the process (all threads). Also writes random PTH-Net networks taking
1408-wide features there, for trying \`pnpm pthnet predict\` with ViT-g.

  --dir <folder>         scratch folder (default <tmp>/pthnet-bench-vitg)
  --workers <n>          worker threads (default 2)
  --batch <n>            windows per call, split over the workers (default 2 per worker)
  --calls <n>            timed calls (default 1)
  --seed <n>             seed of the random weights (default 0)
  --weight-budget <size> weight bytes per worker, e.g. 512MiB (default: streamed on wasm)
  --backend <name>       backend of the workers (default wasm)
  -h, --help             this text`;

const values = benchFlags(USAGE, {
  dir: { type: 'string', default: join(tmpdir(), 'pthnet-bench-vitg') },
  workers: { type: 'string', default: '2' },
  batch: { type: 'string' },
  calls: { type: 'string', default: '1' },
  seed: { type: 'string', default: '0' },
  'weight-budget': { type: 'string' },
  backend: { type: 'string', default: 'wasm' },
});

try {
  const budget = values['weight-budget'] === undefined ? null : parseByteSize(values['weight-budget']);
  if (budget === null && values['weight-budget'] !== undefined) {
    throw new ConfigError(`--weight-budget: expected a positive size such as 512MiB, got ${JSON.stringify(values['weight-budget'])}`);
  }
  await mkdir(values.dir, { recursive: true });
  const result = await benchVitg({
    dir: values.dir,
    workers: Number(values.workers),
    ...(values.batch !== undefined ? { batch: Number(values.batch) } : {}),
    calls: Number(values.calls),
    seed: Number(values.seed),
    weightBudget: budget,
    backend: values.backend as BackendPreference,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(
    `[bench vitg] ${result.windowsPerSecond.toFixed(4)} windows/s (${result.gflopPerSecond.toFixed(1)} GFLOP/s), peak RSS ${formatByteSize(result.peakRssBytes)} with ${result.workers} workers\n` +
      `[bench vitg] predict with it: pnpm pthnet predict <clip> --checkpoint ${result.checkpoint.path} --forward ${result.pthnet.forward} --reversed ${result.pthnet.reversed} (config: extract.backbone.preset vit-g14)\n`,
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  process.stderr.write(`bench vitg failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
