/**
 * Byte-level helpers shared by the tensor reader and the numpy-array rebuild: half/bfloat16
 * widening, byte swapping and strided gathers. Everything here copies; nothing aliases the
 * caller's bytes.
 */
// biome-ignore-all lint/style/noNonNullAssertion: every index is bounded by its loop over arrays of checked shape (a Uint16 value indexes the 65,536-entry half table, stride has one entry per shape dimension as rebuildTensor checks, strided offsets stay inside the span readTensor checks); noUncheckedIndexedAccess cannot see that

import type { ElementArray } from './types.js';

let halfTable: Float32Array | undefined;

/** All 65,536 half-precision values, built on first use (256 KiB) so conversion is a lookup. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      // Inf/NaN: keep the payload bits so a NaN stays the same NaN.
      bits[h] = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent !== 0) {
      bits[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
      // Zero or subnormal: exactly representable as mantissa * 2^-24.
      table[h] = (sign ? -1 : 1) * mantissa * 2 ** -24;
    }
  }
  halfTable = table;
  return table;
}

/** IEEE half-precision bit patterns to float32 values (exact: every half is a float32). */
export function halfBitsToFloat32(halves: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** bfloat16 bit patterns to float32 values (exact: a bfloat16 is the top half of a float32). */
export function bfloat16BitsToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return out;
}

/** Reverses the byte order of every `elementSize`-byte element in place (big-endian checkpoints). */
export function swapBytesInPlace(bytes: Uint8Array, elementSize: number): void {
  if (elementSize <= 1) return;
  for (let base = 0; base + elementSize <= bytes.length; base += elementSize) {
    for (let i = 0, j = elementSize - 1; i < j; i++, j--) {
      const t = bytes[base + i]!;
      bytes[base + i] = bytes[base + j]!;
      bytes[base + j] = t;
    }
  }
}

/** True when `stride` is the row-major stride of `shape` (dimensions of size 1 may have any stride). */
export function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size !== 1 && stride[d] !== expected) return false;
    expected *= size;
  }
  return true;
}

export function product(values: readonly number[]): number {
  let p = 1;
  for (const v of values) p *= v;
  return p;
}

/**
 * Smallest and largest element index a strided view touches, relative to its offset, or
 * null for an empty view.
 */
export function stridedSpan(shape: readonly number[], stride: readonly number[]): { low: number; high: number } | null {
  let low = 0;
  let high = 0;
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 0) return null;
    const reach = stride[d]! * (size - 1);
    if (reach < 0) low += reach;
    else high += reach;
  }
  return { low, high };
}

/**
 * Copies the view `source[base + sum_d(i_d * stride_d)]` into `out` in row-major order of
 * `shape`. `out` must have the same element kind as `source` and `product(shape)` elements.
 */
export function gatherStrided<T extends ElementArray>(
  source: T,
  base: number,
  shape: readonly number[],
  stride: readonly number[],
  out: T,
): T {
  const total = product(shape);
  if (total === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    (out as Float32Array)[0] = (source as Float32Array)[base]!;
    return out;
  }
  const index = new Array<number>(rank).fill(0);
  const innerSize = shape[rank - 1]!;
  const innerStride = stride[rank - 1]!;
  const src = source as unknown as { [i: number]: number | bigint };
  const dst = out as unknown as { [i: number]: number | bigint };
  let rowStart = base;
  for (let written = 0; written < total; written += innerSize) {
    for (let i = 0, s = rowStart; i < innerSize; i++, s += innerStride) dst[written + i] = src[s]!;
    // Advance the outer index like an odometer and move rowStart accordingly.
    for (let d = rank - 2; d >= 0; d--) {
      const next = index[d]! + 1;
      index[d] = next;
      rowStart += stride[d]!;
      if (next < shape[d]!) break;
      rowStart -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}
