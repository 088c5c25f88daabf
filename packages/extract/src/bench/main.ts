/**
 * `tsx packages/extract/src/bench/main.ts [--sizes 112,224] [--seconds 3] [--batch 1]
 * [--workers 2] [--backend auto] [--backbone videomae-v2] [--preset vit-s16] [--list <reference clip list>]`:
 * prints the backbone benchmark (through the backbone registry), decode frames/s and the passes
 * window sharing saves as JSON on stdout, progress on stderr.
 */
import type { BackendPreference } from 'shared';
import { benchFlags } from 'shared';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { benchDecode, benchWindowSharing } from './pipeline.js';
import { benchVit } from './vit.js';
import type { VitBenchResult } from './vit.js';

const USAGE = `Usage: pnpm bench extract [flags]
Backbone windows/s and GFLOP/s (default the VideoMAE v2 ViT; random weights; in this thread and
on worker threads),
ffmpeg decode frames/s, and the backbone passes that sharing windows across strides saves on a
reference clip list. Prints JSON on stdout, progress on stderr.

  --sizes <px,...>     input sizes (default 112,224)
  --seconds <s>        timed seconds per run (default 3)
  --batch <n>          windows per call (default 1)
  --workers <n>        worker pool threads, 0 for none (default 2)
  --backend <name>     auto, node-gpu, node, wasm or cpu (default auto)
  --backbone <name>    registered backbone (default videomae-v2)
  --preset <name>      its preset (default vit-s16)
  --list <file>        reference clip list for window sharing (default: FERV39k train_All.txt)
  -h, --help           this text`;

const values = benchFlags(USAGE, {
  sizes: { type: 'string', default: '112,224' },
  seconds: { type: 'string', default: '3' },
  batch: { type: 'string', default: '1' },
  workers: { type: 'string', default: '2' },
  backend: { type: 'string', default: 'auto' },
  backbone: { type: 'string', default: 'videomae-v2' },
  preset: { type: 'string', default: 'vit-s16' },
  list: { type: 'string', default: resolve(import.meta.dirname, '../../../../../shared/data/annotations/ferv39k/train_All.txt') },
});

let result: VitBenchResult;
try {
  result = await benchVit({
    imageSizes: values.sizes.split(',').map(Number),
    seconds: Number(values.seconds),
    batchSize: Number(values.batch),
    poolWorkers: Number(values.workers),
    backend: values.backend as BackendPreference,
    backbone: values.backbone,
    preset: values.preset,
    log: (line) => process.stderr.write(`${line}\n`),
  });
} catch (error) {
  process.stderr.write(`bench extract-vit failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const decode = await benchDecode();
const sharing = existsSync(values.list) ? benchWindowSharing(values.list) : null;
process.stdout.write(`${JSON.stringify({ ...result, decode, windowSharing: sharing }, null, 2)}\n`);
