import * as tf from '@tensorflow/tfjs-core';
import { withSharedTransposes } from './linear.js';
import { pthnetLoss } from './loss.js';
import type { PthNet } from './pthnet.js';
import type { ForwardOptions, PthNetLoss, PyramidBatch, PyramidLogits } from './types.js';

export interface GradientOptions extends ForwardOptions {
  /**
   * Multiplies the loss before differentiating (the reported losses are unscaled). Data-parallel
   * workers pass their share of the batch, `n_worker / B`, so that summed gradients equal the
   * full batch's.
   */
  gradScale?: number;
  /** Keep the three levels' logits in the result (the caller disposes them). */
  keepLogits?: boolean;
  /** Called once the forward pass and the loss are computed, before the backward pass (the profiler's phase mark). */
  onForward?: () => void;
}

export interface GradientResult {
  losses: PthNetLoss<number>;
  /** Present with `keepLogits`. */
  logits?: PyramidLogits<tf.Tensor2D>;
  /** Gradients by reference name, in the network's (internal) layout; the caller disposes them. */
  grads: Map<string, tf.Tensor>;
  /** Parameters that got no gradient (unused ones; other levels' convs when a level is not run). */
  paramsWithoutGrad: string[];
}

/** The value of a scalar tensor. */
function scalarValue(t: tf.Scalar): number {
  const [value] = t.dataSync();
  if (value === undefined) throw new Error(`expected a scalar tensor, got shape ${JSON.stringify(t.shape)}`);
  return value;
}

/** Forward (all three levels), the PTH-Net loss and the gradient of every parameter it reaches. */
export function computeGradients(
  model: PthNet,
  batch: PyramidBatch<tf.Tensor>,
  labels: tf.Tensor1D,
  options: GradientOptions,
): GradientResult {
  const variables = model.namedVariables();
  let kept: { losses: PthNetLoss<tf.Scalar>; logits: PyramidLogits<tf.Tensor2D> } | undefined;
  const scale = options.gradScale ?? 1;
  const { value, grads } = withSharedTransposes(() =>
    tf.variableGrads(() => {
      const logits = model.forwardTrain(batch, options);
      const losses = pthnetLoss(logits.p_L, logits.p_M, logits.p_H, labels);
      kept = {
        losses: {
          loss: tf.keep(losses.loss),
          loss_ce: tf.keep(losses.loss_ce),
          loss_kl_L: tf.keep(losses.loss_kl_L),
          loss_kl_M: tf.keep(losses.loss_kl_M),
        },
        logits: options.keepLogits ? { p_L: tf.keep(logits.p_L), p_M: tf.keep(logits.p_M), p_H: tf.keep(logits.p_H) } : logits,
      };
      const scaled: tf.Scalar = scale === 1 ? losses.loss : tf.mul(losses.loss, scale);
      options.onForward?.();
      return scaled;
    }, [...variables.values()]),
  );
  const byName = new Map<string, tf.Tensor>();
  const paramsWithoutGrad: string[] = [];
  for (const [name, variable] of variables) {
    const grad = grads[variable.name];
    if (grad === undefined) paramsWithoutGrad.push(name);
    else byName.set(name, grad);
  }
  // tf.variableGrads runs the loss function above, which sets kept, before it returns
  if (kept === undefined) throw new Error('computeGradients: the loss function did not run');
  const { losses, logits } = kept;
  const numbers: PthNetLoss<number> = {
    loss: scalarValue(losses.loss),
    loss_ce: scalarValue(losses.loss_ce),
    loss_kl_L: scalarValue(losses.loss_kl_L),
    loss_kl_M: scalarValue(losses.loss_kl_M),
  };
  // with gradScale 1 the returned value is the kept loss itself
  tf.dispose([...new Set([value, losses.loss, losses.loss_ce, losses.loss_kl_L, losses.loss_kl_M])]);
  return { losses: numbers, ...(options.keepLogits ? { logits } : {}), grads: byName, paramsWithoutGrad };
}

/** The part of an optimizer a training step needs. */
export interface GradientApplier {
  step(grads: ReadonlyMap<string, tf.Tensor>): unknown;
}

/** One training step: gradients, then the optimizer update; the gradients are disposed. */
export function trainStep(
  model: PthNet,
  optimizer: GradientApplier,
  batch: PyramidBatch<tf.Tensor>,
  labels: tf.Tensor1D,
  options: GradientOptions,
): Omit<GradientResult, 'grads'> {
  const { grads, ...rest } = computeGradients(model, batch, labels, options);
  try {
    optimizer.step(grads);
  } finally {
    tf.dispose([...grads.values()]);
  }
  return rest;
}
