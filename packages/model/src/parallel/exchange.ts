// biome-ignore-all lint/style/noNonNullAssertion: indices are bounded by the loops (end < sizes.length; rest[0] exists when rest.length === 1; each summed range [start, start + size) is one parameter inside one worker's slot of slots, as parameterOffsets lays them out); noUncheckedIndexedAccess cannot see that
import { parameterCount, pthnetParameterSpecs } from '../pthnet/params.js';
import type { PthNetConfig } from '../pthnet/types.js';
import { BARRIER_POLL_MS, CONTROL_ABORT, CONTROL_ARRIVED, CONTROL_GENERATION, CONTROL_LENGTH } from './constants.js';
import type { WorkerInit } from './types.js';

/** The shared memory `workers` replicas of a network exchange gradients and updated weights through. */
export function exchangeBuffers(
  config: PthNetConfig,
  workers: number,
): Pick<WorkerInit, 'gradients' | 'gradientFlags' | 'weights' | 'updatedFlags' | 'control'> {
  const specs = pthnetParameterSpecs(config);
  const total = parameterCount(specs);
  return {
    gradients: new SharedArrayBuffer(workers * total * Float32Array.BYTES_PER_ELEMENT),
    gradientFlags: new SharedArrayBuffer(workers * specs.length * Int32Array.BYTES_PER_ELEMENT),
    weights: new SharedArrayBuffer(total * Float32Array.BYTES_PER_ELEMENT),
    updatedFlags: new SharedArrayBuffer(specs.length * Int32Array.BYTES_PER_ELEMENT),
    control: new SharedArrayBuffer(CONTROL_LENGTH * Int32Array.BYTES_PER_ELEMENT),
  };
}

/** Offsets of every parameter (internal layout, flattened) in one gradient slot. */
export function parameterOffsets(sizes: readonly number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += size;
  }
  return { offsets, total };
}

/**
 * Splits parameters (by index, sizes given) into `parts` contiguous shards of similar total size;
 * returns each shard's `[start, end)` index range. Each worker updates one shard.
 */
export function shardRanges(sizes: readonly number[], parts: number): Array<[number, number]> {
  const total = sizes.reduce((n, s) => n + s, 0);
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let cumulative = 0;
  for (let part = 0; part < parts; part++) {
    const target = (total * (part + 1)) / parts;
    let end = start;
    while (end < sizes.length && (part === parts - 1 || cumulative + sizes[end]! / 2 <= target)) cumulative += sizes[end++]!;
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/**
 * Blocks until `parties` workers have arrived (generation-counting barrier on shared memory).
 * Throws if the main thread raised the abort flag, so one failing worker cannot hang the rest.
 */
export function barrier(control: Int32Array, parties: number): void {
  const generation = Atomics.load(control, CONTROL_GENERATION);
  if (Atomics.add(control, CONTROL_ARRIVED, 1) === parties - 1) {
    Atomics.store(control, CONTROL_ARRIVED, 0);
    Atomics.add(control, CONTROL_GENERATION, 1);
    Atomics.notify(control, CONTROL_GENERATION);
    return;
  }
  while (Atomics.load(control, CONTROL_GENERATION) === generation) {
    if (Atomics.load(control, CONTROL_ABORT) !== 0) throw new Error('data-parallel step aborted: another worker failed');
    Atomics.wait(control, CONTROL_GENERATION, generation, BARRIER_POLL_MS);
  }
}

/**
 * Sums parameter `index`'s gradient over the workers that produced one, in worker order (so
 * every worker gets bit-identical sums and the replicas stay equal). Null if none did.
 */
export function reduceGradient(
  slots: Float32Array,
  flags: Int32Array,
  slotSize: number,
  parameterCount: number,
  parties: number,
  index: number,
  offset: number,
  size: number,
): Float32Array | null {
  const contributors: number[] = [];
  for (let worker = 0; worker < parties; worker++) {
    if (flags[worker * parameterCount + index] !== 0) contributors.push(worker * slotSize + offset);
  }
  if (contributors.length === 0) return null;
  const [first, ...rest] = contributors as [number, ...number[]];
  const sum = slots.slice(first, first + size);
  if (rest.length === 1) {
    const second = rest[0]!;
    for (let i = 0; i < size; i++) sum[i] = sum[i]! + slots[second + i]!;
  } else {
    for (const start of rest) for (let i = 0; i < size; i++) sum[i] = sum[i]! + slots[start + i]!;
  }
  return sum;
}
