import { fmix32 } from './mix.js';

/*
 * mulberry32: a 32-bit-state generator of uniform floats, the one every seeded PTH-Net's initial
 * weights and the demo backbone's random weights were drawn from. It stays next to sfc32 (the
 * pipeline's generator) because changing it would change those weights, and with them every
 * seeded training result (the demo's published accuracy included). Reproducible across backends
 * and worker threads, unlike tf.random*, whose streams depend on call order inside tfjs.
 */

/** Uniform floats in [0, 1) from mulberry32 seeded with `seed` (taken modulo 2^32). */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Stream `stream` of base seed `seed`: mulberry32 seeded with `fmix32(seed ^ (stream + 1) * 0x9e3779b1)`.
 * PTH-Net draws each parameter's initial values (stream = parameter index) and its stochastic
 * depth from these streams; the seed mixing is theirs, not `deriveSeed`'s, so that seeded
 * networks keep the weights they always had.
 */
export function seededUniformStream(seed: number, stream: number): () => number {
  return seededUniform(fmix32((seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0));
}
