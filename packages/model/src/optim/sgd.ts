// biome-ignore-all lint/style/noNonNullAssertion: the update loops index p, g and the momentum buffer by i < p.length, and all three have that length (step() and loadState() check sizes against the parameter; data-parallel workers pass a parameter's values and its summed gradient, both of its size); noUncheckedIndexedAccess cannot see that
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, nativeKernelsActive, nativeSgdStep } from 'shared';
import { DEFAULT_SGD_MOMENTUM, DEFAULT_SGD_WEIGHT_DECAY } from './constants.js';
import type { HostTensor, NamedVariables, ParameterCodec, SgdOptions, SgdState, SgdStepResult } from './types.js';

const IDENTITY_CODEC: ParameterCodec = {
  encode: (_name, data, shape) => ({ shape: [...shape], data: data.slice() }),
  decode: (_name, tensor) => tensor.data,
};

function nonNegative(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`sgd.${key}: expected a finite number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * SGD with PyTorch semantics: `g += weight_decay * p`; `buf = g` on a parameter's first step,
 * else `buf = momentum * buf + g`; `p -= lr * buf`. A parameter with no gradient this step is
 * not touched at all (no weight decay, no momentum update), as in `torch.optim.SGD`.
 *
 * The update runs on the host, one pass over each parameter: on the CPU backends that is several
 * times cheaper than the six elementwise tfjs ops it replaces, and it takes gradients that are
 * already on the host (the data-parallel workers sum theirs there) without a round trip. Where the
 * native kernels run (wasm with the addon), a tensor gradient is applied by the native `PthnetSgd`
 * kernel instead, in place on the wasm heap and on every core, with the same arithmetic (the same
 * bits) and the momentum buffers still on the host.
 */
export class SGD {
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly params: NamedVariables;
  private readonly codec: ParameterCodec;
  private readonly buffers = new Map<string, Float32Array>();

  constructor(params: NamedVariables, options: SgdOptions) {
    this.params = params;
    this.lr = nonNegative('lr', options.lr);
    this.momentum = nonNegative('momentum', options.momentum ?? DEFAULT_SGD_MOMENTUM);
    this.weightDecay = nonNegative('weightDecay', options.weightDecay ?? DEFAULT_SGD_WEIGHT_DECAY);
    this.codec = options.codec ?? IDENTITY_CODEC;
  }

  /** Applies one update from gradients keyed by parameter name (tensors or host arrays; the caller keeps them). */
  step(grads: ReadonlyMap<string, tf.Tensor | Float32Array>): SgdStepResult {
    for (const [name, grad] of grads) {
      const variable = this.params.get(name);
      if (variable === undefined) throw new ConfigError(`sgd: gradient for ${name}, which is not one of the optimized parameters`);
      const size = grad instanceof Float32Array ? grad.length : grad.size;
      if (size !== variable.size) throw new ConfigError(`sgd: gradient for ${name} has ${size} values, the parameter has ${variable.size}`);
    }
    const updated: string[] = [];
    const skipped: string[] = [];
    for (const [name, variable] of this.params) {
      const grad = grads.get(name);
      if (grad === undefined) {
        skipped.push(name);
        continue;
      }
      updated.push(name);
      if (!(grad instanceof Float32Array) && nativeKernelsActive()) {
        this.nativeStep(name, variable, grad);
        continue;
      }
      const g = grad instanceof Float32Array ? grad : (grad.dataSync() as Float32Array);
      const next = this.update(name, variable.dataSync() as Float32Array, g);
      tf.tidy(() => variable.assign(tf.tensor(next, variable.shape, 'float32')));
    }
    return { updated, skipped };
  }

  private nativeStep(name: string, variable: tf.Variable, grad: tf.Tensor): void {
    let buffer = this.buffers.get(name) ?? null;
    const first = buffer === null;
    if (this.momentum !== 0 && buffer === null) {
      buffer = new Float32Array(variable.size);
      this.buffers.set(name, buffer);
    }
    const next = nativeSgdStep(variable, grad, {
      lr: this.lr,
      momentum: this.momentum,
      weightDecay: this.weightDecay,
      first,
      buffer: this.momentum === 0 ? null : buffer,
    });
    variable.assign(next);
    next.dispose();
  }

  /**
   * One parameter's update on host arrays: returns the new values and advances its momentum
   * buffer, without touching the variable (data-parallel workers each update a shard this way
   * and share the results).
   */
  update(name: string, p: Float32Array, g: Float32Array): Float32Array {
    const { lr, momentum, weightDecay } = this;
    const next = new Float32Array(p.length);
    let buffer = this.buffers.get(name);
    if (momentum === 0) {
      for (let i = 0; i < p.length; i++) next[i] = p[i]! - lr * (g[i]! + weightDecay * p[i]!);
    } else if (buffer === undefined) {
      buffer = new Float32Array(p.length);
      this.buffers.set(name, buffer);
      for (let i = 0; i < p.length; i++) {
        buffer[i] = g[i]! + weightDecay * p[i]!;
        next[i] = p[i]! - lr * buffer[i]!;
      }
    } else {
      for (let i = 0; i < p.length; i++) {
        // rounded to float32 in the buffer before it moves the weight, as in PyTorch
        buffer[i] = momentum * buffer[i]! + (g[i]! + weightDecay * p[i]!);
        next[i] = p[i]! - lr * buffer[i]!;
      }
    }
    return next;
  }

  /** Momentum buffers (in the codec's saved layout) and hyperparameters. */
  state(): SgdState {
    const momentumBuffers = new Map<string, HostTensor>();
    for (const [name, buffer] of this.buffers) {
      const variable = this.params.get(name);
      if (variable === undefined) throw new ConfigError(`sgd: momentum buffer for ${name}, which is not one of the optimized parameters`);
      momentumBuffers.set(name, this.codec.encode(name, buffer, variable.shape));
    }
    return { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay, momentumBuffers };
  }

  /**
   * Restores momentum buffers (in the codec's saved layout); the learning rate too when given.
   * A buffer for an unknown parameter or of the wrong size is a `CheckpointError`.
   */
  loadState(state: Pick<SgdState, 'momentumBuffers'> & Partial<Pick<SgdState, 'lr'>>): void {
    const decoded = new Map<string, Float32Array>();
    for (const [name, tensor] of state.momentumBuffers) {
      const variable = this.params.get(name);
      if (variable === undefined) throw new CheckpointError(`optimizer state: momentum buffer for unknown parameter ${name}`);
      const data = this.codec.decode(name, tensor);
      if (data.length !== variable.size) {
        throw new CheckpointError(`optimizer state: momentum buffer ${name} has ${data.length} values, the parameter has ${variable.size}`);
      }
      decoded.set(name, Float32Array.from(data));
    }
    this.buffers.clear();
    for (const [name, data] of decoded) this.buffers.set(name, data);
    if (state.lr !== undefined) this.lr = nonNegative('lr', state.lr);
  }

  /** Drops the momentum buffers. */
  dispose(): void {
    this.buffers.clear();
  }
}
