// The VideoMAE v2 ViT (packages/extract/src/videomae) as a backbone: presets vit-s16 .. vit-g14
// or a custom shape, weights from an official .pth or a .safetensors, in this thread or on a
// pool of worker threads.
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, describeActiveBackend, formatByteSize } from 'shared';
import { openVitTensorSource } from '../videomae/checkpoint.js';
import { resolveVitConfig } from '../videomae/config.js';
import { VIT_PRESET_NAMES } from '../videomae/constants.js';
import { vitFlopsPerWindow } from '../videomae/flops.js';
import type { VitConfig, VitWeightPlan } from '../videomae/types.js';
import { openVitModel } from '../videomae/vit.js';
import { checkVitShapes, checkWeightBudget, randomVitTensorSource } from '../videomae/weights.js';
import { createVitWorkerPool } from '../videomae/workerPool.js';
import type { Backbone, BackboneConfig, BackboneDefinition, BackboneSpec, OpenBackboneOptions } from './types.js';

const NAME = 'videomae-v2';

export interface VideoMaeSpec extends BackboneSpec {
  /** The validated ViT shape and normalisation. */
  readonly vit: VitConfig;
  /**
   * `extract.backbone.weightBudget` in bytes: most weight bytes each worker holds at once. Not part
   * of `cacheParams`: streamed weights give the same features.
   */
  readonly weightBudget: number | null;
}

function resolve(config: BackboneConfig): VideoMaeSpec {
  const input: Record<string, unknown> = { preset: config.preset, ...(config.custom ?? {}), normalize: config.normalize };
  // errors name the key where the user wrote it: `preset` and `normalize` on the backbone, the shape under `custom`
  const vit = resolveVitConfig(input, {
    keyName: (key) =>
      key === 'preset' || key === '(config)' || key.startsWith('normalize') ? `extract.backbone.${key}` : `extract.backbone.custom.${key}`,
  });
  const { embedDim, depth, numHeads, patchSize, tubeletSize, mlpRatio, imageSize, numFrames, normalize } = vit;
  const weightBudget = config.weightBudget ?? null;
  checkWeightBudget(vit, weightBudget);
  return {
    backbone: NAME,
    label: vit.preset,
    featureDim: embedDim,
    window: { frames: numFrames, height: imageSize, width: imageSize },
    // the key the features of this backbone have always had: existing features stay valid
    cacheParams: {
      vit: {
        embedDim,
        depth,
        numHeads,
        patchSize,
        tubeletSize,
        mlpRatio,
        imageSize,
        numFrames,
        normalize: normalize ? { mean: [...normalize.mean], std: [...normalize.std] } : null,
      },
    },
    checkpointKind: 'VideoMAE v2 checkpoint (.pth or .safetensors)',
    flopsPerWindow: vitFlopsPerWindow(vit).total,
    vit,
    weightBudget,
  };
}

/** For logs: how the weights are held. */
function describeWeights(plan: VitWeightPlan): string {
  return plan.streamed
    ? `weights streamed block by block (${formatByteSize(plan.heldBytes)} of ${formatByteSize(plan.totalBytes)} held per thread)`
    : `weights held whole (${formatByteSize(plan.totalBytes)} per thread)`;
}

async function open(spec: VideoMaeSpec, options: OpenBackboneOptions): Promise<Backbone> {
  const { weights } = options;
  if (options.workers !== undefined) {
    if ('tensors' in weights) {
      throw new ConfigError(`${NAME}: weights from tensors at hand load in this thread only, got workers: ${options.workers}`);
    }
    const pool = await createVitWorkerPool({
      config: spec.vit,
      ...('checkpoint' in weights ? { weightsPath: weights.checkpoint } : { randomSeed: weights.randomSeed }),
      workers: options.workers,
      weightBudget: spec.weightBudget,
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
    });
    return {
      spec,
      workers: pool.workers,
      backend: pool.backend,
      backendDetail: pool.backendDetail,
      weightsDetail: describeWeights(pool.weightPlan),
      extractFeatures: (windows) => pool.extractFeatures(windows),
      close: () => pool.close(),
    };
  }
  const source =
    'checkpoint' in weights
      ? await openVitTensorSource(weights.checkpoint)
      : 'tensors' in weights
        ? weights.tensors
        : randomVitTensorSource(spec.vit, weights.randomSeed);
  // tensors at hand belong to the caller
  const model = await openVitModel(source, spec.vit, { budget: spec.weightBudget, closeSource: !('tensors' in weights) });
  return {
    spec,
    workers: 0,
    backend: tf.getBackend(),
    backendDetail: describeActiveBackend(),
    weightsDetail: describeWeights(model.weightPlan),
    extractFeatures: (windows) => model.extractFeatures(windows),
    close: () => model.dispose(),
  };
}

async function check(spec: VideoMaeSpec, checkpoint: string): Promise<void> {
  const source = await openVitTensorSource(checkpoint);
  try {
    checkVitShapes(source.shapes, spec.vit, source.description, source.path);
  } finally {
    await source.close();
  }
}

export const videoMaeV2Backbone: BackboneDefinition<VideoMaeSpec> = {
  name: NAME,
  summary: 'VideoMAE v2 ViT: fc_norm(mean of the tokens) of 16-frame windows',
  presets: [...VIT_PRESET_NAMES, 'custom'],
  resolve,
  check,
  open,
  randomTensors: (spec, seed) => randomVitTensorSource(spec.vit, seed),
};
