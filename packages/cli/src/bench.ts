/**
 * `pnpm bench <name> [flags]`: runs a benchmark script (a package's `packages/<package>/src/bench/<script>.ts`,
 * or the whole pipeline's in `packages/cli/src/bench/`), which prints its figures as JSON on stdout.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCHMARKS: Record<string, { script: string; summary: string }> = {
  model: {
    script: 'model/src/bench/main.ts',
    summary: 'PTH-Net training and inference throughput (clips/s), full FERV39k config, batch 32, per backend',
  },
  extract: { script: 'extract/src/bench/main.ts', summary: 'VideoMAE v2 ViT-S/16 windows/s and GFLOP/s at 112 and 224 pixels' },
  vitg: {
    script: 'extract/src/bench/vitg-main.ts',
    summary: 'ViT-g/14 with random weights streamed from a 3.8 GB checkpoint on 2 workers: windows/s, peak memory',
  },
  scale: { script: 'cli/src/bench/main.ts', summary: 'the pipeline at FERV39k size: each stage, first run and no-op rerun' },
  manifest: {
    script: 'extract/src/bench/manifest.ts',
    summary: "claims/s and extract's no-op rerun at FERV39k size (233,610 artifacts), SQLite and PostgreSQL (--postgres <url>)",
  },
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !(name in BENCHMARKS)) {
  const list = Object.entries(BENCHMARKS)
    .map(([n, b]) => `  ${n.padEnd(8)} ${b.summary}`)
    .join('\n');
  console.error(
    `Usage: pnpm bench <name> [flags]   (name: one of ${Object.keys(BENCHMARKS).join(', ')}; got ${name ?? 'nothing'})\n${list}`,
  );
  process.exitCode = name === '--help' || name === '-h' ? 0 : 2;
} else {
  const script = fileURLToPath(new URL(`../../${BENCHMARKS[name]?.script}`, import.meta.url));
  if (!existsSync(script)) throw new Error(`bench ${name}: expected ${script}, got no such file`);
  // The benchmark reads its own flags from process.argv.
  process.argv = [...process.argv.slice(0, 1), script, ...rest];
  await import(pathToFileURL(script).href);
}
