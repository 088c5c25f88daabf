import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import type { PipelineConfig } from 'shared';
import {
  CONFIG_ENV_VAR,
  workspaceRoot,
  ConfigError,
  PthnetError,
  createProgress,
  loadConfig,
  selectBackend,
  stageCommand,
  stageContext,
} from 'shared';
import { writeSafetensors } from 'model';
import type { BackboneSpec, BackboneTensorSource, SourceRef } from 'extract';
import {
  copyWindowFrames,
  decodeClip,
  generateDemoDataset,
  openBackbone,
  planWindows,
  randomBackboneTensors,
  resolveBackbone,
} from 'extract';
import { formatResultTable, summaryFromReport } from './eval.js';

/** Seed of the demo backbone: the same weights on every machine. */
export const DEMO_BACKBONE_SEED = 3;
/** Scale of the demo backbone's patch embedding relative to VideoMAE's init. */
export const DEMO_PATCH_EMBED_GAIN = 10;

/** One tensor of the demo backbone; every name of the random ViT's shape table has values. */
function tensorOf(values: ReadonlyMap<string, Float32Array>, name: string): Float32Array {
  const data = values.get(name);
  if (data === undefined) throw new Error(`demo backbone: no values for tensor ${name}`);
  return data;
}

/**
 * The demo's backbone: a small VideoMAE-v2-shaped ViT with seeded random weights, written
 * as a real checkpoint (reference key names, head included) and read later by the same
 * loader as the official checkpoints. Its features are those of an untrained network, with
 * two adjustments that keep them usable:
 * - a stronger patch embedding: at VideoMAE's init (std 0.02) the fixed sinusoid position
 *   table outweighs the pixels in every token, and all clips come out nearly alike;
 * - `fc_norm` calibrated on a few demo training clips so each feature channel is centred
 *   and scaled: an untrained network's features share a large constant part, and PTH-Net
 *   (like the reference) barely learns from the small differences on top of it.
 */
export async function writeDemoBackbone(
  path: string,
  config: PipelineConfig,
  calibrationClips: readonly SourceRef[],
  force = false,
): Promise<boolean> {
  if (existsSync(path) && !force) return false;
  // the configured backbone's seeded random weights, which the steps below adjust by their ViT key names
  const spec = resolveBackbone(config.extract.backbone);
  const random = randomBackboneTensors(spec, DEMO_BACKBONE_SEED);
  const values = new Map<string, Float32Array>();
  for (const name of random.shapes.keys()) values.set(name, await random.read(name));
  const patch = tensorOf(values, 'patch_embed.proj.weight');
  for (const [i, v] of patch.entries()) patch[i] = v * DEMO_PATCH_EMBED_GAIN;

  const { mean, std } = await featureStatistics(spec, values, random.shapes, calibrationClips);
  const gamma = tensorOf(values, 'fc_norm.weight');
  const beta = tensorOf(values, 'fc_norm.bias');
  // biome-ignore-start lint/style/noNonNullAssertion: j < gamma.length, and beta, mean and std also have one entry per feature channel (embedDim)
  for (let j = 0; j < gamma.length; j++) {
    // y = (gamma * z + beta - mean) / std, with gamma = 1 and beta = 0 at init
    beta[j] = (beta[j]! - mean[j]!) / std[j]!;
    gamma[j] = gamma[j]! / std[j]!;
  }
  // biome-ignore-end lint/style/noNonNullAssertion: j < gamma.length, and beta, mean and std also have one entry per feature channel (embedDim)
  const tensors = [...random.shapes].map(([name, shape]) => ({
    name,
    dtype: 'F32' as const,
    shape: [...shape],
    data: tensorOf(values, name),
  }));
  await writeSafetensors(path, tensors, { format: 'pt', note: 'pthnet demo backbone: random weights, not a trained VideoMAE v2' });
  return true;
}

/** Per-channel mean and std of the backbone's features over the windows of some clips. */
async function featureStatistics(
  spec: BackboneSpec,
  values: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
  clips: readonly SourceRef[],
): Promise<{ mean: Float64Array; std: Float64Array }> {
  await selectBackend('auto');
  const source: BackboneTensorSource = {
    shapes,
    description: 'demo backbone',
    read: async (k) => tensorOf(values, k),
    close: async () => undefined,
  };
  const model = await openBackbone(spec, { weights: { tensors: source } });
  const D = spec.featureDim;
  const sum = new Float64Array(D);
  const sq = new Float64Array(D);
  let count = 0;
  try {
    for (const ref of clips) {
      const clip = await decodeClip(ref);
      for (const w of planWindows(clip.n, [8], 'cover', 'forward').windows) {
        const data = copyWindowFrames(clip, w.frames);
        const feature = await model.extractFeatures({ data, shape: [1, 16, clip.height, clip.width, 3] });
        // biome-ignore-start lint/style/noNonNullAssertion: j < D, and sum, sq and the feature vector all have D = embedDim entries
        for (let j = 0; j < D; j++) {
          sum[j]! += feature[j]!;
          sq[j]! += feature[j]! * feature[j]!;
        }
        // biome-ignore-end lint/style/noNonNullAssertion: j < D, and sum, sq and the feature vector all have D = embedDim entries
        count += 1;
      }
    }
  } finally {
    await model.close();
  }
  const mean = sum.map((v) => v / count);
  // biome-ignore lint/style/noNonNullAssertion: mean is sum.map(...), so it has an entry for every index j of sq
  const std = sq.map((v, j) => Math.sqrt(Math.max(v / count - mean[j]! ** 2, 0)) + 1e-3);
  return { mean, std };
}

/** Runs `turbo run eval` in the workspace root: turbo orders ingest → extract → datasets → train → eval. */
function runTurbo(root: string, configPath: string | undefined): Promise<void> {
  const turbo = join(dirname(createRequire(import.meta.url).resolve('turbo/package.json')), 'bin', 'turbo');
  return new Promise((resolvePromise, reject) => {
    const env = {
      ...process.env,
      TURBO_TELEMETRY_DISABLED: '1',
      TURBO_NO_UPDATE_NOTIFIER: '1',
      ...(configPath ? { [CONFIG_ENV_VAR]: configPath } : {}),
    };
    const child = spawn(process.execPath, [turbo, 'run', 'eval', '--output-logs=full'], { cwd: root, stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new PthnetError(
            'DEMO',
            `turbo run eval ${signal ? `was stopped by ${signal}` : `exited with ${code}`}; the manifest keeps what finished, rerun \`pnpm demo\` to continue`,
          ),
        );
    });
  });
}

export function command(): Command {
  const cmd = stageCommand('demo', 'generate the built-in demo set and run the whole pipeline on it through turbo').option(
    '--generate-only',
    'make the demo clips and backbone, run nothing',
  );
  cmd.addHelpText(
    'after',
    '\nThe demo is configured by pthnet.config.json in the repository root (its `ingest` entry points at data/demo/source).',
  );
  cmd.action(async (opts: { generateOnly?: boolean; config?: string }) => {
    const ctx = stageContext(cmd);
    const cwd = process.cwd();
    const demoEntry = ctx.config.ingest.datasets.find((d) => d.name === 'demo');
    if (!demoEntry) throw new ConfigError('ingest.datasets: expected an entry named "demo" (see README, Quick start), got none');
    const root = resolve(cwd, demoEntry.root);
    const progress = createProgress({ label: 'demo clips', total: 1, unit: 'clips' });
    const dataset = await generateDemoDataset({
      root,
      seed: ctx.config.demo.seed,
      clipsPerClass: ctx.config.demo.clipsPerClass,
      onProgress: (e) => {
        progress.setTotal(e.total);
        progress.tick(1);
      },
    });
    progress.stop();
    console.log(`demo set: ${dataset.clips.length} clips in ${root}${dataset.generated ? '' : ' (already there)'}`);
    const checkpoint = ctx.config.extract.backbone.checkpoint;
    if (checkpoint === undefined) throw new ConfigError('extract.backbone.checkpoint: expected the demo backbone path, got nothing');
    // calibrated on 4 training clips per class, both views
    const perLabel = new Map<number, number>();
    const calibration = dataset.clips
      .filter((c) => c.split === 'train' && (perLabel.set(c.label, (perLabel.get(c.label) ?? 0) + 1).get(c.label) ?? 0) <= 4)
      .flatMap((c): SourceRef[] => [
        { path: c.rawPath, kind: c.rawStorage === 'video' ? 'video' : 'frames' },
        { path: c.facePath, kind: c.faceStorage === 'video' ? 'video' : 'frames' },
      ]);
    // a new demo set (other seed, size or generator version) gets a backbone calibrated on it
    const wrote = await writeDemoBackbone(resolve(cwd, checkpoint), ctx.config, calibration, dataset.generated);
    console.log(
      `demo backbone: ${checkpoint}${wrote ? '' : ' (already there)'} (random weights: demo features come from an untrained network)`,
    );
    if (opts.generateOnly) return;
    const configPath = opts.config !== undefined ? resolve(opts.config) : process.env[CONFIG_ENV_VAR];
    await runTurbo(workspaceRoot(), configPath);
    const config = loadConfig(configPath !== undefined ? { path: configPath } : {});
    const reportDir = resolve(ctx.dataDir, config.eval.out);
    console.log(`\n${formatResultTable(await summaryFromReport(reportDir, 'written'))}\nreport: ${join(reportDir, 'report.md')}`);
  });
  return cmd;
}
