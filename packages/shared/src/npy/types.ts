/** Element types the pipeline stores in .npy files: features, inputs, labels and masks. */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

/** The typed array holding each dtype; `bool` is one byte per element, 0 or 1 (as numpy stores it). */
export interface NpyDataByDtype {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type NpyData = NpyDataByDtype[NpyDtype];

/**
 * A C-order array of one dtype: `data.length` is the product of `shape`. Read arrays are views
 * into the file's bytes (`data.byteOffset` is past the header): use `data`, not `data.buffer`.
 */
export interface NpyArrayOf<D extends NpyDtype> {
  dtype: D;
  shape: number[];
  data: NpyDataByDtype[D];
}

/** Any array `readNpy` returns; narrow on `dtype`. */
export type NpyArray = { [D in NpyDtype]: NpyArrayOf<D> }[NpyDtype];

/** What `writeNpy` takes; `dtype` defaults to the one the typed array implies (`Uint8Array` -> uint8). */
export interface NpyWriteInput {
  data: NpyData;
  shape: readonly number[];
  dtype?: NpyDtype;
}

/** What a .npy header says: `descr` as written, and the dtype it is when this reader supports it. */
export interface NpyHeader {
  /** numpy `descr`, e.g. `<f4`. */
  readonly descr: string;
  /** `descr` as one of NpyDtype, or undefined for one this reader does not support (e.g. `>f4`). */
  readonly dtype: NpyDtype | undefined;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first element. */
  readonly dataOffset: number;
}

/** A .npy file's header and its size on disk (`readNpyHeader`). */
export interface NpyFileHeader extends NpyHeader {
  readonly fileSize: number;
}
