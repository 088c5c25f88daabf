/** Element types a torch checkpoint tensor can be read as. */
export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * The values of a read tensor, row-major. Floating types (half, bfloat16, double included)
 * come back as Float32Array; integers keep their width; bool comes back as 0/1 bytes.
 */
export type TensorValues = Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** One storage (`<archive>/data/<key>`) as the pickle's persistent id describes it. */
export interface StorageRef {
  readonly kind: 'storage';
  /** Entry name under `<archive>/data/`. */
  readonly key: string;
  readonly dtype: TorchDtype;
  /** Number of elements of `dtype` the storage holds. */
  readonly numel: number;
  /** Device the storage was saved from (`cpu`, `cuda:0`); informational, everything is read to the CPU. */
  readonly location: string;
}

/** A tensor inside a checkpoint, not yet read: `TorchCheckpoint.readTensor` fetches its values. */
export interface TensorRef {
  readonly kind: 'tensor';
  /**
   * Where the tensor sits: the dotted path from the checkpoint root
   * (`state_dict.module.head.weight`, `optimizer.state.0.momentum_buffer`), or, for refs
   * returned by `findStateDict`, the state-dict key itself.
   */
  readonly name: string;
  readonly dtype: TorchDtype;
  readonly shape: readonly number[];
  /** Element strides into the storage (torch allows views, expands and transposes). */
  readonly stride: readonly number[];
  /** First element of the view inside its storage, in elements. */
  readonly storageOffset: number;
  readonly storage: StorageRef;
  readonly requiresGrad: boolean;
}

/** A read tensor, contiguous and row-major. */
export interface TensorData {
  readonly name: string;
  readonly dtype: TorchDtype;
  readonly shape: number[];
  readonly data: TensorValues;
}

/** A `GLOBAL`/`STACK_GLOBAL` reference as it sits in the unpickled tree (a class or a function, never called). */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/**
 * An instance of a class the reader does not know (the reference trainer's `RecorderMeter`,
 * `argparse.Namespace`, ...): its class name, constructor arguments and `BUILD` state are
 * kept as data and nothing of it is ever run.
 */
export interface PickledObject {
  readonly kind: 'object';
  /** `module.Name`. */
  readonly className: string;
  readonly args: readonly unknown[];
  /** What `BUILD` gave it (usually a Map of attributes), undefined when never built. */
  state: unknown;
  /** Items SETITEM(S) stored into it (dict subclasses such as `easydict.EasyDict`). */
  dictItems?: Map<unknown, unknown>;
  /** Items APPEND(S) added to it (list subclasses). */
  listItems?: unknown[];
}

/** A numpy dtype as `numpy.dtype(...)` + `BUILD` describe it. */
export interface NumpyDtype {
  readonly kind: 'numpy-dtype';
  /** Type code without byte order, e.g. `f4`, `i8`, `b1`, `O8`. */
  readonly code: string;
  /** `<`, `>`, `|` or `=`. */
  byteOrder: string;
}

/** A numpy array rebuilt from `numpy.core.multiarray._reconstruct` + `BUILD`, in C order. */
export interface NumpyArray {
  readonly kind: 'ndarray';
  shape: number[];
  /** Numpy type string, e.g. `<f4`. */
  dtype: string;
  /**
   * Decoded values for numeric dtypes (f2/f4/f8 as Float32Array/Float64Array, ints as typed
   * arrays, b1 as 0/1 bytes); raw bytes for anything else; a plain array for object arrays.
   */
  data: ElementArray | unknown[];
}

/**
 * What the restricted unpickler builds. Python dicts become `Map` (keys keep their Python
 * type and order: optimizer states are keyed by int), lists and tuples arrays, sets `Set`,
 * bytes `Uint8Array`, ints numbers (bigint beyond 2^53), `None` null.
 */
export type PickleValue = unknown;

/** Options of `openTorchCheckpoint`. */
export interface OpenTorchCheckpointOptions {
  /**
   * Largest `data.pkl` accepted, in bytes (the pickle is read whole; tensors are not).
   * Default 1 GiB.
   */
  maxPickleBytes?: number;
  /** Most bytes one tensor read may return (default and ceiling 4 GiB). */
  maxTensorBytes?: number;
  /**
   * Most tensor bytes all reads of this checkpoint may return together; a read past it fails
   * before anything is allocated. Default: 4x the file size, at least 256 MiB.
   */
  budgetBytes?: number;
}

/** Typed arrays with numeric or bigint elements that `gatherStrided` can copy between. */
export type ElementArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** Options of `writeTorchStateDict`. */
export interface WriteTorchStateDictOptions {
  /** Keys and shapes in file order. */
  entries: ReadonlyArray<{ key: string; shape: readonly number[] }>;
  /** The float32 values of one key, row-major; asked for one key at a time, in order. */
  values: (key: string) => Float32Array | Promise<Float32Array>;
  /** Top-level key holding the state dict (`module`, as the official VideoMAE v2 checkpoints); null: the state dict is the root. Default `module`. */
  container?: string | null;
  /** Top folder of the archive. Default `archive`. */
  archive?: string;
  /** Deflate the storages (torch stores them; some re-zipped copies are deflated). Default false. */
  deflate?: boolean;
}
