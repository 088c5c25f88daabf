export * from './types.js';
export * from './constants.js';
export { isProcessAlive } from './liveness.js';
export {
  cleanStaleTempFiles,
  fsyncDirectory,
  fsyncFile,
  renameDurably,
  tempPathFor,
  writeFileAtomic,
  writeFully,
} from './write-file-atomic.js';
export {
  ensureArtifact,
  failArtifact,
  listFolderFiles,
  produceArtifact,
  readArtifactRecord,
  recordedPath,
  type LedgerHolder,
} from './produce-artifact.js';
