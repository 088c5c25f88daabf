import type { SafetensorsDtype, SafetensorsValues } from './types.js';

type ValuesConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => SafetensorsValues;

/** Bytes per element and the typed array that holds each dtype's values. */
export const SAFETENSORS_DTYPES: Readonly<Record<SafetensorsDtype, { size: number; array: ValuesConstructor }>> = {
  F64: { size: 8, array: Float64Array },
  F32: { size: 4, array: Float32Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  I64: { size: 8, array: BigInt64Array },
  U64: { size: 8, array: BigUint64Array },
  I32: { size: 4, array: Int32Array },
  U32: { size: 4, array: Uint32Array },
  I16: { size: 2, array: Int16Array },
  U16: { size: 2, array: Uint16Array },
  I8: { size: 1, array: Int8Array },
  U8: { size: 1, array: Uint8Array },
  BOOL: { size: 1, array: Uint8Array },
  F8_E4M3: { size: 1, array: Uint8Array },
  F8_E5M2: { size: 1, array: Uint8Array },
};

/** Header key of the free-form string map. */
export const METADATA_KEY = '__metadata__';

/** The reference implementation refuses headers above 100 MB; so do we (it guards allocations). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The data section starts on an 8-byte boundary: the header is padded with spaces to get there. */
export const HEADER_ALIGNMENT = 8;
