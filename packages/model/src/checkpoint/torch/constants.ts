import type { TorchDtype } from './types.js';

/** Keys tried, in order, by `findStateDict` (reference trainer, VideoMAE `module`, timm/MAE `model`). */
export const DEFAULT_STATE_DICT_KEYS: readonly string[] = ['state_dict', 'module', 'model'];

/** Prefix `nn.DataParallel` / DDP put on every key. */
export const DATA_PARALLEL_PREFIX = 'module.';

export const DEFAULT_MAX_PICKLE_BYTES = 1024 ** 3;

/** Largest tensor `readTensor` returns (one typed array); ViT-g's largest is 35 MB. */
export const MAX_TENSOR_BYTES = 2 ** 32;

/**
 * Default budget of tensor bytes one open checkpoint may return: this many times its file size
 * (half-precision storages widen to float32, views may share a storage), and at least
 * `DEFAULT_BUDGET_FLOOR_BYTES`. A legitimate state dict stays near 1x; a crafted view that
 * repeats a few bytes into gigabytes does not.
 */
export const DEFAULT_BUDGET_FILE_FACTOR = 4;
export const DEFAULT_BUDGET_FLOOR_BYTES = 256 * 1024 ** 2;

/** Highest pickle protocol the reader understands. */
export const MAX_PICKLE_PROTOCOL = 5;

/** Bytes per element. */
export const TORCH_DTYPE_SIZE: Readonly<Record<TorchDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Legacy typed-storage class names torch.save still writes in persistent ids. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, TorchDtype>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

/** `torch.<name>` dtype globals (as `_rebuild_tensor_v3` names them), aliases included. */
export const TORCH_DTYPE_NAMES: Readonly<Record<string, TorchDtype>> = {
  float32: 'float32',
  float: 'float32',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  float64: 'float64',
  double: 'float64',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** Zip local file header signature `PK\x03\x04`. */
export const ZIP_LOCAL_HEADER_MAGIC = 0x04034b50;

/**
 * Names of every pickle opcode (protocols 0-5), for error messages: an opcode the reader
 * does not implement is reported by name as well as by byte.
 */
export const PICKLE_OPCODE_NAMES: Readonly<Record<number, string>> = {
  40: 'MARK',
  46: 'STOP',
  48: 'POP',
  49: 'POP_MARK',
  50: 'DUP',
  70: 'FLOAT',
  73: 'INT',
  74: 'BININT',
  75: 'BININT1',
  76: 'LONG',
  77: 'BININT2',
  78: 'NONE',
  80: 'PERSID',
  81: 'BINPERSID',
  82: 'REDUCE',
  83: 'STRING',
  84: 'BINSTRING',
  85: 'SHORT_BINSTRING',
  86: 'UNICODE',
  88: 'BINUNICODE',
  97: 'APPEND',
  98: 'BUILD',
  99: 'GLOBAL',
  100: 'DICT',
  125: 'EMPTY_DICT',
  101: 'APPENDS',
  103: 'GET',
  104: 'BINGET',
  105: 'INST',
  106: 'LONG_BINGET',
  108: 'LIST',
  93: 'EMPTY_LIST',
  111: 'OBJ',
  112: 'PUT',
  113: 'BINPUT',
  114: 'LONG_BINPUT',
  115: 'SETITEM',
  116: 'TUPLE',
  41: 'EMPTY_TUPLE',
  117: 'SETITEMS',
  71: 'BINFLOAT',
  128: 'PROTO',
  129: 'NEWOBJ',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
  133: 'TUPLE1',
  134: 'TUPLE2',
  135: 'TUPLE3',
  136: 'NEWTRUE',
  137: 'NEWFALSE',
  138: 'LONG1',
  139: 'LONG4',
  66: 'BINBYTES',
  67: 'SHORT_BINBYTES',
  140: 'SHORT_BINUNICODE',
  141: 'BINUNICODE8',
  142: 'BINBYTES8',
  143: 'EMPTY_SET',
  144: 'ADDITEMS',
  145: 'FROZENSET',
  146: 'NEWOBJ_EX',
  147: 'STACK_GLOBAL',
  148: 'MEMOIZE',
  149: 'FRAME',
  150: 'BYTEARRAY8',
  151: 'NEXT_BUFFER',
  152: 'READONLY_BUFFER',
};

/** What `writeTorchStateDict` writes to `<archive>/version`: the archive format of torch >= 1.6. */
export const TORCH_WRITER_VERSION = 3;
