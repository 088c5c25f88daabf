import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import type { ConfigFlag, Direction, PipelineConfig } from 'shared';
import { describeBackend, ConfigError, InputError, ManifestStore, selectBackend, stageCommand, stageContext } from 'shared';
import { DATASET_FLAG, bestCheckpointOf, resolveDataset, trainingRunIdentity } from 'shared';
import { createPthNet, loadPthNetCheckpoint } from 'model';
import type { VitModel } from 'extract';
import { backboneVitConfig, createVitModel, decodeClip, loadVitWeights, planWindows } from 'extract';
import { sampleClipLevel } from 'train';

export interface Prediction {
  clip: string;
  frames: number;
  windows: number;
  classes: Array<{ index: number; name: string; probability: number }>;
  /** Probabilities of each model, in class order. */
  forward: number[];
  reversed?: number[];
  combined: number[];
  mu: number;
}

/** Level-H input of one clip in one direction: backbone features of its stride-H windows, sampled as in evaluation. */
async function levelH(
  vit: VitModel,
  clip: { frames: Uint8Array; n: number; width: number; height: number },
  direction: Direction,
  config: PipelineConfig,
) {
  const L = config.extract.windowLength;
  const plan = planWindows(clip.n, [config.datasets.strides.H], config.extract.rule, direction, L);
  const frameBytes = clip.width * clip.height * 3;
  const D = vit.config.embedDim;
  const rows = new Float32Array(plan.windows.length * D);
  for (const [i, w] of plan.windows.entries()) {
    const data = new Uint8Array(L * frameBytes);
    w.frames.forEach((f, k) => {
      data.set(clip.frames.subarray(f * frameBytes, (f + 1) * frameBytes), k * frameBytes);
    });
    rows.set(await vit.extractFeatures({ data, shape: [1, L, clip.height, clip.width, 3] }), i * D);
  }
  const T = config.extract.windowLength; // level H length, 16
  const sampled = sampleClipLevel({ data: rows, rows: plan.windows.length }, D, T, 'eval');
  return {
    x: tf.tensor3d(sampled.input, [1, D, T]),
    m: tf.tensor3d(Float32Array.from(sampled.mask), [1, 1, T]),
    windows: plan.windows.length,
  };
}

async function logitsOf(checkpoint: string, x: tf.Tensor3D, m: tf.Tensor3D): Promise<{ logits: Float32Array; classes: number }> {
  const ckpt = await loadPthNetCheckpoint(checkpoint);
  if (ckpt.config.n_in !== x.shape[1]) {
    throw new ConfigError(`${checkpoint}: expected a network taking ${x.shape[1]}-wide features (the backbone's), got ${ckpt.config.n_in}`);
  }
  const model = createPthNet(ckpt.config);
  model.loadStateDict(ckpt.stateDict);
  const out = model.predict(x, m);
  const logits = out.dataSync() as Float32Array;
  out.dispose();
  model.dispose();
  return { logits: Float32Array.from(logits), classes: ckpt.config.num_classes };
}

function softmax(v: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export async function predictClip(
  path: string,
  config: PipelineConfig,
  checkpoints: { forward: string; reversed?: string; labelNames?: readonly string[] },
): Promise<Prediction> {
  if (!existsSync(path)) throw new InputError(`${path}: expected a video file or a folder of frames, got nothing at that path`, path);
  const backbone = config.extract.backbone.checkpoint;
  if (backbone === undefined || !existsSync(backbone)) {
    throw new ConfigError(
      `extract.backbone.checkpoint: expected an existing VideoMAE v2 checkpoint, got ${JSON.stringify(backbone ?? null)}`,
    );
  }
  const kind = statSync(path).isDirectory() ? 'frames' : 'video';
  const clip = await decodeClip({ path, kind });
  const vitConfig = backboneVitConfig(config);
  const vit = createVitModel(vitConfig, await loadVitWeights(backbone, vitConfig));
  const tensors: tf.Tensor[] = [];
  try {
    const fwd = await levelH(vit, clip, 'forward', config);
    tensors.push(fwd.x, fwd.m);
    const f = await logitsOf(checkpoints.forward, fwd.x, fwd.m);
    let r: { logits: Float32Array; classes: number } | undefined;
    if (checkpoints.reversed) {
      const rev = await levelH(vit, clip, 'reversed', config);
      tensors.push(rev.x, rev.m);
      r = await logitsOf(checkpoints.reversed, rev.x, rev.m);
      if (r.classes !== f.classes) {
        throw new ConfigError(`${checkpoints.reversed}: expected a network with the forward one's ${f.classes} classes, got ${r.classes}`);
      }
    }
    const mu = config.eval.mu;
    let combinedLogits = Array.from(f.logits);
    if (r) {
      const reversedLogits = r.logits;
      // biome-ignore lint/style/noNonNullAssertion: both networks have the same class count (checked above), so k indexes both logit rows
      combinedLogits = Array.from(f.logits, (v, k) => mu * v + (1 - mu) * reversedLogits[k]!);
    }
    const combined = softmax(combinedLogits);
    const names = checkpoints.labelNames ?? [];
    const classes = combined
      .map((probability, index) => ({ index, name: names[index] ?? String(index), probability }))
      .sort((a, b) => b.probability - a.probability || a.index - b.index);
    return {
      clip: path,
      frames: clip.n,
      windows: fwd.windows,
      classes,
      forward: softmax(f.logits),
      ...(r ? { reversed: softmax(r.logits) } : {}),
      combined,
      mu,
    };
  } finally {
    tf.dispose(tensors);
    vit.dispose();
  }
}

const PREDICT_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--mu <x>', key: 'eval.mu', description: 'weight of the forward model (default 0.7)', kind: 'number' },
  { flags: '--checkpoint <file>', key: 'extract.backbone.checkpoint', description: 'VideoMAE v2 backbone', kind: 'string' },
];

export function command(): Command {
  const cmd = stageCommand('predict', 'classify one video or frame folder end to end', PREDICT_FLAGS)
    .argument('<clip>', 'a video file or a folder of frames (jpg/png)')
    .option('--forward <checkpoint>', "forward model (default: the pipeline's best)")
    .option('--reversed <checkpoint>', "reversed model (default: the pipeline's best)")
    .option('--top <k>', 'classes to print', '3')
    .option('--json', 'print the prediction as JSON');
  cmd.action(async (clipPath: string, opts: { forward?: string; reversed?: string; top: string; json?: boolean }) => {
    const ctx = stageContext(cmd, PREDICT_FLAGS);
    const backend = await selectBackend(ctx.config.backend);
    if (!opts.json) process.stderr.write(`[predict] tfjs backend: ${describeBackend(backend)}\n`);
    let forward = opts.forward;
    let reversed = opts.reversed;
    let labelNames: string[] = [];
    if (existsSync(ctx.manifestPath)) {
      const store = ManifestStore.open(ctx.manifestPath);
      try {
        // the runs and label names of the dataset asked for, or of the only one (with several, it asks which)
        const any = store.clips.listDatasets().length > 0 || ctx.config.dataset !== null;
        const dataset = any ? resolveDataset(store.clips, ctx.config.dataset).name : undefined;
        const best = (d: Direction) => {
          if (dataset === undefined) return undefined;
          const row = store.artifacts.getArtifact(trainingRunIdentity(dataset, { direction: d, source: ctx.config.datasets.source }));
          return row?.status === 'done' ? bestCheckpointOf(row.path) : undefined;
        };
        forward ??= best('forward');
        reversed ??= best('reversed');
        if (dataset) labelNames = store.clips.getLabelMap(dataset);
      } finally {
        store.close();
      }
    }
    if (forward === undefined)
      throw new ConfigError('predict: expected a forward checkpoint, got none (train first, or pass --forward <checkpoint>)');
    const prediction = await predictClip(resolve(clipPath), ctx.config, { forward, ...(reversed ? { reversed } : {}), labelNames });
    if (opts.json) {
      console.log(JSON.stringify(prediction, null, 2));
      return;
    }
    console.log(`${clipPath}: ${prediction.frames} frames, ${prediction.windows} windows`);
    for (const c of prediction.classes.slice(0, Number(opts.top) || 3))
      console.log(`  ${c.name.padEnd(10)} ${(100 * c.probability).toFixed(1).padStart(5)} %`);
  });
  return cmd;
}
