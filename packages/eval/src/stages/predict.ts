import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import type { ConfigFlag, Direction, PipelineConfig } from 'shared';
import { describeBackend, ConfigError, InputError, ManifestStore, selectBackend, stageCommand, stageContext } from 'shared';
import {
  DATASET_FLAG,
  bestCheckpointOf,
  checkClassCount,
  datasetClasses,
  manifestExists,
  resolveDataset,
  trainingRunIdentity,
} from 'shared';
import type { LoadedPthNetCheckpoint } from 'model';
import { createPthNet, loadPthNetCheckpoint, pthnetLevelLengths } from 'model';
import type { Backbone } from 'extract';
import { BACKBONE_WEIGHT_FLAGS, copyWindowFrames, decodeClip, openBackbone, planWindows, resolveBackbone } from 'extract';
import { sampleClipLevel } from 'train';
import { combineLogits } from '../combine/index.js';

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

/** A network to run: its checkpoint file and what it holds. */
interface Network {
  path: string;
  checkpoint: LoadedPthNetCheckpoint;
}

async function loadNetwork(path: string): Promise<Network> {
  return { path, checkpoint: await loadPthNetCheckpoint(path) };
}

/**
 * Level-H input of one clip in one direction for one network: backbone features of its windows
 * at stride `datasets.strides.H` (`extract.windowLength` frames each), sampled as in evaluation
 * to the network's level-H length, its `max_len` (not the window length: a level has `max_len`
 * time steps of one feature row each). A network trained on features at another level-H
 * stride (recorded by `pthnet train`) is an error naming `datasets.strides.H`.
 */
async function levelH(
  vit: Backbone,
  clip: { frames: Uint8Array; n: number; width: number; height: number },
  direction: Direction,
  config: PipelineConfig,
  net: Network,
) {
  const trainedStrides = net.checkpoint.provenance?.featureStrides as { H?: unknown } | undefined;
  if (trainedStrides?.H !== undefined && trainedStrides.H !== config.datasets.strides.H) {
    throw new ConfigError(
      `datasets.strides.H: expected ${String(trainedStrides.H)} (the level-H stride ${net.path} was trained on), got ${config.datasets.strides.H}`,
    );
  }
  const L = config.extract.windowLength;
  const plan = planWindows(clip.n, [config.datasets.strides.H], config.extract.rule, direction, L);
  const D = vit.spec.featureDim;
  // One call for all the windows: a backbone that streams its weights reads them once per call.
  const windowBytes = L * clip.height * clip.width * 3;
  const data = new Uint8Array(plan.windows.length * windowBytes);
  for (const [i, w] of plan.windows.entries()) data.set(copyWindowFrames(clip, w.frames), i * windowBytes);
  const rows = await vit.extractFeatures({ data, shape: [plan.windows.length, L, clip.height, clip.width, 3] });
  const T = pthnetLevelLengths(net.checkpoint.config).H;
  const sampled = sampleClipLevel({ data: rows, rows: plan.windows.length }, D, T, 'eval');
  return {
    x: tf.tensor3d(sampled.input, [1, D, T]),
    m: tf.tensor3d(Float32Array.from(sampled.mask), [1, 1, T]),
    windows: plan.windows.length,
  };
}

function logitsOf(net: Network, x: tf.Tensor3D, m: tf.Tensor3D): { logits: Float32Array; classes: number } {
  const ckpt = net.checkpoint;
  if (ckpt.config.n_in !== x.shape[1]) {
    throw new ConfigError(`${net.path}: expected a network taking ${x.shape[1]}-wide features (the backbone's), got ${ckpt.config.n_in}`);
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
  const spec = resolveBackbone(config.extract.backbone);
  const weights = config.extract.backbone.checkpoint;
  if (weights === undefined || !existsSync(weights)) {
    throw new ConfigError(
      `extract.backbone.checkpoint: expected an existing ${spec.checkpointKind}, got ${JSON.stringify(weights ?? null)}`,
    );
  }
  const kind = statSync(path).isDirectory() ? 'frames' : 'video';
  const clip = await decodeClip({ path, kind });
  const vit = await openBackbone(spec, { weights: { checkpoint: weights } });
  const tensors: tf.Tensor[] = [];
  try {
    const forwardNet = await loadNetwork(checkpoints.forward);
    const fwd = await levelH(vit, clip, 'forward', config, forwardNet);
    tensors.push(fwd.x, fwd.m);
    const f = logitsOf(forwardNet, fwd.x, fwd.m);
    let r: { logits: Float32Array; classes: number } | undefined;
    if (checkpoints.reversed) {
      const reversedNet = await loadNetwork(checkpoints.reversed);
      const rev = await levelH(vit, clip, 'reversed', config, reversedNet);
      tensors.push(rev.x, rev.m);
      r = logitsOf(reversedNet, rev.x, rev.m);
      if (r.classes !== f.classes) {
        throw new ConfigError(`${checkpoints.reversed}: expected a network with the forward one's ${f.classes} classes, got ${r.classes}`);
      }
    }
    const mu = config.eval.mu;
    // eval's combination (float32 rounding, as the reference): a near tie falls the same way in both.
    const row = (logits: Float32Array) => ({ data: logits, shape: [1, logits.length] as [number, number] });
    const combinedLogits = r ? combineLogits(row(f.logits), row(r.logits), mu).data : f.logits;
    const combined = softmax(combinedLogits);
    const names = checkpoints.labelNames ?? [];
    // a network of another dataset (or class count) would name its outputs with the wrong labels
    if (names.length > 0) checkClassCount(f.classes, names.length, `predict --forward: the head of ${checkpoints.forward}`, 'the dataset');
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
    await vit.close();
  }
}

const PREDICT_FLAGS: readonly ConfigFlag[] = [
  DATASET_FLAG,
  { flags: '--mu <x>', key: 'eval.mu', description: 'weight of the forward model (default 0.7)', kind: 'number' },
  ...BACKBONE_WEIGHT_FLAGS,
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
    if (manifestExists(ctx.manifest)) {
      const store = await ManifestStore.open(ctx.manifest);
      try {
        // the runs and label names of the dataset asked for, or of the only one (with several, it asks which)
        const any = (await store.clips.listDatasets()).length > 0 || ctx.config.dataset !== null;
        const dataset = any ? (await resolveDataset(store.clips, ctx.config.dataset)).name : undefined;
        const best = async (d: Direction) => {
          if (dataset === undefined) return undefined;
          const row = await store.artifacts.getArtifact(trainingRunIdentity(dataset, { direction: d, source: ctx.config.datasets.source }));
          return row?.status === 'done' ? bestCheckpointOf(row.path) : undefined;
        };
        forward ??= await best('forward');
        reversed ??= await best('reversed');
        if (dataset) labelNames = (await datasetClasses(store.clips, dataset)).names;
      } finally {
        await store.close();
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
    const shown = prediction.classes.slice(0, Number(opts.top) || 3);
    const width = Math.max(10, ...shown.map((c) => c.name.length));
    for (const c of shown) console.log(`  ${c.name.padEnd(width)} ${(100 * c.probability).toFixed(1).padStart(5)} %`);
  });
  return cmd;
}
