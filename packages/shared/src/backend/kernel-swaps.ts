/**
 * Replacing a kernel of the wasm backend and putting it back. A replacement gets the original
 * to fall back on for the cases it does not cover.
 */
import * as tf from '@tensorflow/tfjs-core';

const originals = new Map<string, tf.KernelConfig>();

/** Registers `make(original)` in place of the wasm backend's `name` kernel; a no-op if already swapped. */
export function swapWasmKernel(name: string, make: (original: tf.KernelConfig) => tf.KernelFunc): void {
  if (originals.has(name)) return;
  const original = tf.getKernel(name, 'wasm');
  if (original === undefined) throw new Error(`tfjs-backend-wasm has no ${name} kernel to replace`);
  originals.set(name, original);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(original) });
}

/** Puts the wasm backend's own kernel back (no-op if it was not swapped). */
export function restoreWasmKernel(name: string): void {
  const original = originals.get(name);
  if (original === undefined) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(original);
  originals.delete(name);
}

export function isWasmKernelSwapped(name: string): boolean {
  return originals.has(name);
}

/**
 * tfjs clones every tensor it saves for the backward pass, and the wasm backend's Identity
 * copies the data (a few thousand copies per PTH-Net training step, 10 % of it). Tensors are
 * immutable, so the clone can share the data and count a reference, as the wasm Reshape
 * kernel and the cpu backend's Identity already do.
 */
export function shareWasmIdentity(): void {
  swapWasmKernel('Identity', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}
