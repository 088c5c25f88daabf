import type { ElementArray } from '../torch/types.js';
/** Element types of the safetensors format, spelled as in its header. */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'U64'
  | 'I32'
  | 'U32'
  | 'I16'
  | 'U16'
  | 'I8'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2';

/**
 * Values of one tensor, row-major, as stored: F16 and BF16 as their raw 16-bit patterns
 * (Uint16Array) so a round trip is bit-exact; BOOL and the 8-bit floats as raw bytes.
 */
export type SafetensorsValues = ElementArray;

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsValues;
}

/** One header entry: where a tensor's bytes sit, relative to the start of the data section. */
export interface SafetensorsHeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsContents {
  /** Tensors by name, in header order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
}
