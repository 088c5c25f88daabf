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

/** Steps of `produceArtifact`, in order; reported to `onPhase` as each one finishes. */
export type ProducePhase = 'claimed' | 'written' | 'synced' | 'renamed' | 'recorded';

export interface ProduceArtifactOptions {
  /** Claim lease; renewed every third of it while `write` runs. Default: the store's default (10 min). */
  leaseMs?: number;
  /** Run that produces the artifact, recorded on its row. */
  runId?: string;
  /** Called after each step (for progress and tracing; tests use it to crash at a given step). */
  onPhase?: (phase: ProducePhase) => void;
}

/** What `produceArtifact` / `ensureArtifact` did with one item. */
export type ProduceResult =
  | { outcome: 'produced'; path: string; bytes: number; contentHash: string }
  /** `up-to-date`: the plan found a valid done file; `taken`: another live process holds it or just finished it. */
  | { outcome: 'skipped'; reason: 'up-to-date' | 'taken' };
