import * as tf from '@tensorflow/tfjs-core';
import { InputError } from 'shared';
import type { PthNetLoss } from './types.js';

/** Identity whose gradient is zero: PyTorch's `.detach()` (tfjs-core has no stopGradient op). */
export const detach = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;

/**
 * `CE(p_H, y) + KL(p_L) + KL(p_M)`, each KL against `softmax(p_H)` detached, summed over classes
 * and divided by the batch size (PyTorch `kl_div(..., reduction='batchmean')`).
 * `labels` are class indices `[B]` (int32, or float holding integers).
 */
export function pthnetLoss(p_L: tf.Tensor2D, p_M: tf.Tensor2D, p_H: tf.Tensor2D, labels: tf.Tensor1D): PthNetLoss<tf.Scalar> {
  const [batch, classes] = p_H.shape;
  if (labels.rank !== 1 || labels.shape[0] !== batch) {
    throw new InputError(`labels: expected shape [${batch}], got [${labels.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const logTarget = tf.logSoftmax(detach(p_H));
    const target = tf.exp(logTarget);
    const klDivergence = (p: tf.Tensor2D): tf.Scalar => tf.div(tf.sum(tf.mul(target, tf.sub(logTarget, tf.logSoftmax(p)))), batch);
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
    const loss_ce = tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(p_H)))), batch) as tf.Scalar;
    const loss_kl_L = klDivergence(p_L);
    const loss_kl_M = klDivergence(p_M);
    return { loss: tf.addN([loss_ce, loss_kl_L, loss_kl_M]), loss_ce, loss_kl_L, loss_kl_M };
  });
}
