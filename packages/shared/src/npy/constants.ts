import type { NpyDtype } from './types.js';

export const NPY_MAGIC = '\x93NUMPY';

/** numpy >= 1.24 pads the header so the data starts on a multiple of 64 bytes. */
export const NPY_ARRAY_ALIGN = 64;

/**
 * numpy leaves room after the header dict for the first axis to grow to this many digits
 * (so arrays can be appended in place); reproduced for byte-identical files.
 */
export const NPY_GROWTH_AXIS_MAX_DIGITS = 21;

/** numpy's `descr` for each dtype, little-endian (`|` where byte order does not apply). */
export const NPY_DESCR: Readonly<Record<NpyDtype, string>> = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  bool: '|b1',
};

/** The dtype of each `descr` this reader accepts (the inverse of NPY_DESCR). */
export const NPY_DTYPE_OF_DESCR: Readonly<Record<string, NpyDtype>> = Object.fromEntries(
  Object.entries(NPY_DESCR).map(([dtype, descr]) => [descr, dtype as NpyDtype]),
);

/** Bytes per element of each dtype. */
export const NPY_ITEM_SIZE: Readonly<Record<NpyDtype, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** Bytes read to find a header without the data: numpy writes 128 (64 + growth room) for 1- to 3-D arrays. */
export const NPY_HEADER_PROBE_BYTES = 4096;
