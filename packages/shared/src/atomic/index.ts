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
  checkArtifact,
  checkArtifacts,
  ensureArtifact,
  failArtifact,
  listFolderFiles,
  produceArtifact,
  readArtifactRecord,
  recordedPath,
  registerArtifacts,
  type LedgerHolder,
} from './produce-artifact.js';
