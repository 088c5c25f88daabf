// Checkpoint I/O: PyTorch zip checkpoints (restricted unpickler), safetensors, and the
// PTH-Net checkpoint format built on them.
export type {
  NumpyArray,
  NumpyDtype,
  OpenTorchCheckpointOptions,
  PickledObject,
  PickleGlobal,
  PickleValue,
  StorageRef,
  TensorData,
  TensorRef,
  TensorValues,
  TorchDtype,
  WriteTorchStateDictOptions,
} from './torch/types.js';
export { DEFAULT_STATE_DICT_KEYS } from './torch/constants.js';
export { openTorchCheckpoint, TorchCheckpoint } from './torch/torchCheckpoint.js';
export { writeTorchStateDict } from './torch/torchWriter.js';
export { unpickle, type UnpickleOptions } from './torch/unpickler.js';
export { isPickledObject, isTensorRef } from './torch/globals.js';
export { halfBitsToFloat32, bfloat16BitsToFloat32 } from './torch/decode.js';

export type {
  SafetensorsContents,
  SafetensorsDtype,
  SafetensorsHeaderEntry,
  SafetensorsTensor,
  SafetensorsValues,
} from './safetensors/types.js';
export {
  openSafetensors,
  readSafetensors,
  safetensorsToFloat32,
  SafetensorsFile,
  writeSafetensors,
} from './safetensors/safetensors.js';

export type {
  CheckpointProvenance,
  LoadedPthNetCheckpoint,
  PthNetCheckpointSidecar,
  PthNetCheckpointSource,
  PthNetStateDict,
  PthNetTensor,
  SavedPthNetCheckpoint,
  SavePthNetCheckpointInput,
  SgdHyperparameters,
} from './pthnet/types.js';
export { PTHNET_FERV39K_CONFIG } from './pthnet/constants.js';
export { checkPthNetShapes, expectedPthNetShapes, inferPthNetConfig, validateCheckpointConfig } from './pthnet/pthnetShapes.js';
export { loadPthNetCheckpoint, savePthNetCheckpoint } from './pthnet/pthnetCheckpoint.js';
