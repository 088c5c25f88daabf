import type { ArtifactIdentity, ArtifactPlanInfo } from '../manifest/types.js';
import type { FileHandle } from 'node:fs/promises';

/** Writes the content of an atomic file through an open handle; must not close it. */
export type FileHandleWriter = (handle: FileHandle) => Promise<void>;

export interface WriteFileAtomicOptions {
  /** Create the target's folder (recursively) first. Default true. */
  mkdir?: boolean;
  /** File mode of the new file. Default 0o666 (less the umask). */
  mode?: number;
}

export interface CleanTempFilesOptions {
  /** Also clean sub-folders. Default false. */
  recursive?: boolean;
  /** Remove temp files older than this even when their pid looks alive. Default 24 h. */
  maxAgeMs?: number;
}

/**
 * Steps of `produceArtifact`, in order; reported to `onPhase` as each one finishes. Writing
 * (a file or a folder): claimed, written, synced, renamed, recorded. Registering an existing
 * file: claimed, verified, recorded.
 */
export type ProducePhase = 'claimed' | 'written' | 'synced' | 'renamed' | 'verified' | 'recorded';

/** Writes a `file` artifact's bytes to `tmpPath` (which `produceArtifact` then fsyncs, hashes and renames). */
export type FileWriter = (tmpPath: string) => Promise<void>;

/** The files a folder writer made, relative to the folder (or absolute inside it). */
export interface FolderContents {
  files: readonly string[];
}

/**
 * Makes a `folder` artifact's files in `folder` (each written atomically, e.g. with
 * `writeFileAtomic`), and says which they are; or answers `abandoned` when it stopped early on
 * purpose (Ctrl-C), and the artifact stays pending for the next run.
 */
export type FolderWriter = (folder: string) => Promise<FolderContents | 'abandoned'>;

/** An existing file registered as the artifact: nothing is written. Size and hash when already known. */
export interface RegisteredFile {
  bytes?: number;
  contentHash?: string;
  /** The file's stamp when it was hashed (with `contentHash`); default: its stamp now. */
  fileStamp?: string;
}

/** One existing file for `registerArtifacts`: size, sha256 and the stamp it had when it was hashed. */
export interface RegisteredItem {
  identity: ArtifactIdentity;
  plan: ArtifactPlanInfo;
  file: { bytes: number; contentHash: string; fileStamp: string };
}

/**
 * How `checkArtifact` (and `ensureArtifact`) decide that a done artifact's files are unchanged:
 * `stamp` (default) by their stamps, hashing only a file whose stamp moved; `hash` by hashing
 * every file (`--rehash`); `size` by their sizes alone (quick looks, never to skip work).
 */
export interface CheckOptions {
  verify?: 'stamp' | 'hash' | 'size';
  /** `checkArtifacts`: called as it goes with the number of items just decided (for progress: a `hash` check reads every file). */
  onChecked?: (items: number) => void;
}

/** One item for `checkArtifacts`: the artifact and how the current run would make it. */
export interface CheckItem {
  identity: ArtifactIdentity;
  plan: ArtifactPlanInfo;
}

/** What `artifacts.file_stamp` holds for a folder artifact: the stamps of its record and of each file it lists. */
export interface FolderStamp {
  record: string;
  files: Record<string, string>;
}

/**
 * How an artifact comes to be, by the catalogue layout of its kind: a `file` kind is written
 * (a bare function is the same as `{ write }`) or registered; a `folder` kind is written as a folder.
 */
export type ArtifactMaker = FileWriter | { write: FileWriter } | { writeFolder: FolderWriter } | { register: RegisteredFile };

export interface ProduceArtifactOptions {
  /** Claim lease; renewed every third of it while the artifact is made. Default: the ledger's (10 min). */
  leaseMs?: number;
  /** Run that produces the artifact, recorded on its row. */
  runId?: string;
  /** Called after each step (for progress and tracing; tests use it to crash at a given step). */
  onPhase?: (phase: ProducePhase) => void;
}

/** What `produceArtifact` / `ensureArtifact` did with one item. */
export type ProduceResult =
  /** Made (or registered) and recorded; `path` is the recorded file (a folder artifact's record). */
  | { outcome: 'produced'; path: string; bytes: number; contentHash: string }
  /** `up-to-date`: the plan found a valid done artifact; `taken`: another live process holds it or just finished it. */
  | { outcome: 'skipped'; reason: 'up-to-date' | 'taken' }
  /** The folder writer stopped early on purpose; the claim was given back and the item stays pending. */
  | { outcome: 'abandoned' };

/** A folder artifact's record: every file of the folder with its size and sha256. */
export interface ArtifactRecord {
  format: 'pthnet-artifact-record';
  version: 1;
  /** `describeIdentity` of the artifact, for people reading the file. */
  artifact: string;
  cacheKey: string;
  /** Sorted by path; paths relative to the folder, with `/`. */
  files: Array<{ path: string; bytes: number; sha256: string }>;
}
