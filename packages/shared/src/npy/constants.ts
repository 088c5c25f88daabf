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

/** npyjs reports the descr without its byte-order character. */
export const NPYJS_CODE_TO_DTYPE: Readonly<Record<string, NpyDtype>> = {
  f4: 'float32',
  f8: 'float64',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  b1: 'bool',
};
