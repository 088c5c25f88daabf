/** Host batches (plain arrays that cross threads) as tfjs tensors: one conversion for workers and benchmarks. */
// A record type, not PyramidBatch: tf.tidy and tf.dispose take it as a TensorContainer.
import * as tf from '@tensorflow/tfjs-core';
import type { HostArray, HostMask, HostPyramidBatch } from './types.js';

/** A host array as a float32 tensor in the current backend. */
export function hostTensor(host: HostArray | HostMask): tf.Tensor {
  // masks travel as bytes (a quarter of the size); the network reads them as float32
  return tf.tensor(host.data instanceof Uint8Array ? Float32Array.from(host.data) : host.data, host.shape, 'float32');
}

/** The six tensors of a host batch, created in the current backend; the caller disposes them. */
export function hostBatchTensors(host: HostPyramidBatch): Record<keyof HostPyramidBatch, tf.Tensor> {
  return {
    x_L: hostTensor(host.x_L),
    x_M: hostTensor(host.x_M),
    x_H: hostTensor(host.x_H),
    m_L: hostTensor(host.m_L),
    m_M: hostTensor(host.m_M),
    m_H: hostTensor(host.m_H),
  };
}
