/**
 * `pnpm bench <name> [flags]`: runs a benchmark script (`packages/<package>/src/bench/...`, see SCRIPTS),
 * which prints its figures as JSON on stdout.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCHMARKS: Record<string, string> = {
  model: 'PTH-Net training and inference throughput (clips/s), full FERV39k config, batch 32, per backend',
  extract: 'VideoMAE v2 ViT-S/16 windows/s and GFLOP/s at 112 and 224 pixels',
  manifest: 'claims/s and no-op rerun time at FERV39k size (233,610 artifacts), SQLite and PostgreSQL (--postgres <url>)',
};

/** Each benchmark's script, under packages/. */
const SCRIPTS: Record<string, string> = {
  model: 'model/src/bench/main.ts',
  extract: 'extract/src/bench/main.ts',
  manifest: 'shared/src/bench/manifest.ts',
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !(name in BENCHMARKS)) {
  const list = Object.entries(BENCHMARKS)
    .map(([n, d]) => `  ${n.padEnd(8)} ${d}`)
    .join('\n');
  console.error(
    `Usage: pnpm bench <name> [flags]   (name: one of ${Object.keys(BENCHMARKS).join(', ')}; got ${name ?? 'nothing'})\n${list}`,
  );
  process.exitCode = name === '--help' || name === '-h' ? 0 : 2;
} else {
  const script = fileURLToPath(new URL(`../../${SCRIPTS[name]}`, import.meta.url));
  if (!existsSync(script)) throw new Error(`bench ${name}: expected ${script}, got no such file`);
  // The benchmark reads its own flags from process.argv.
  process.argv = [...process.argv.slice(0, 1), script, ...rest];
  await import(pathToFileURL(script).href);
}
