import type * as tf from '@tensorflow/tfjs-core';

/** A parameter-shaped tensor outside tfjs: shape and row-major data. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Converts between the variables' layout and the layout saved in checkpoints (PTH-Net keeps some
 * matrices transposed for speed; its checkpoints use the reference layout). Identity if omitted.
 */
export interface ParameterCodec {
  encode(name: string, data: Float32Array, shape: number[]): HostTensor;
  decode(name: string, tensor: HostTensor): Float32Array;
}

export interface SgdOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor; default 0 (plain SGD). */
  momentum?: number;
  /** L2 penalty added to the gradient (`g += weight_decay * p`); default 0. */
  weightDecay?: number;
  /** Converts momentum buffers to and from their saved layout; default identity. */
  codec?: ParameterCodec;
}

/** The optimizer's state as PyTorch keeps it: momentum buffers of the parameters stepped so far. */
export interface SgdState {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** By parameter name; a parameter that never had a gradient has no buffer. */
  momentumBuffers: Map<string, HostTensor>;
}

export interface SgdStepResult {
  /** Parameters updated this step (had a gradient). */
  updated: string[];
  /** Parameters left untouched (no gradient, so no weight decay either). */
  skipped: string[];
}

export type NamedVariables = ReadonlyMap<string, tf.Variable>;

export interface MultiStepLrOptions {
  /** Learning rate before the first milestone. */
  baseLr: number;
  /** Epochs (counted by `step()`) at which the rate is multiplied by gamma; increasing. */
  milestones: number[];
  /** Multiplier applied at each milestone; default 0.1. */
  gamma?: number;
}

export interface MultiStepLrState {
  /** PyTorch's `last_epoch`: how many times `step()` was called. */
  lastEpoch: number;
  baseLr: number;
  milestones: number[];
  gamma: number;
}
