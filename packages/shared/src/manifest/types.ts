import type { ArtifactIdentity, ArtifactKind, PipelineStage } from '../pipeline/catalogue.js';
import type { ARTIFACT_STATUSES, ClipSourceKind, Direction, IngestIssueReason, RUN_OUTCOMES } from './constants.js';

export type { ArtifactIdentity } from '../pipeline/catalogue.js';
export type ArtifactStatus = (typeof ARTIFACT_STATUSES)[number];
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export interface ManifestOpenOptions {
  /** How long to wait for another process's write lock, in ms. Default 30 000. */
  busyTimeoutMs?: number;
  /** Default claim lease, in ms. Default 10 min. */
  claimLeaseMs?: number;
  /** Open an existing file read-only (no migrations, no writes). Default false. */
  readonly?: boolean;
}

/*
 * Rows as the manifest's modules hand them out: plain data (timestamps as `Date`, JSON columns
 * as text), the same whatever database holds them.
 */

/** One clip of a dataset. `id` is the clip's stable id, e.g. `Action/Sad/0010` or `00001`. */
export interface ClipRow {
  id: string;
  dataset: string;
  /** The clip's own split (FERV39k); null where membership depends on a fold (see `setSplitMembers`). */
  split: string | null;
  label: number;
  labelName: string;
  frameCount: number;
  fps: number | null;
  width: number | null;
  height: number | null;
  contentHash: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One medium a clip can be read from: the raw video or the face crops. */
export interface ClipSourceRow {
  clipId: string;
  kind: ClipSourceKind;
  path: string;
  contentHash: string;
  frameCount: number;
  fps: number | null;
  width: number | null;
  height: number | null;
  isFrameFolder: boolean;
  /** Size and modification time of what was hashed: an unchanged stamp lets ingest skip re-hashing. */
  fileStamp: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Bad input recorded instead of stopping a run; one per (dataset, subject, reason). */
export interface IngestIssueRow {
  id: number;
  dataset: string;
  /** The clip id where there is one, else the path. */
  subject: string;
  clipId: string | null;
  path: string | null;
  reason: string;
  detail: string | null;
  runId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a run is and how it ended. */
export interface RunRow {
  id: string;
  stage: PipelineStage;
  /** Canonical JSON of the run's config. */
  config: string;
  pid: number;
  host: string;
  startedAt: Date;
  endedAt: Date | null;
  /** Canonical JSON of the run's counts. */
  counts: string | null;
  outcome: RunOutcome;
  error: string | null;
}

/** One artifact the pipeline makes, with its cache key, file and claim. */
export interface ArtifactRow {
  id: number;
  /** The canonical text of the identity parts (see `identityKey`). */
  identity: string;
  stage: PipelineStage;
  kind: ArtifactKind;
  clipId: string | null;
  direction: Direction | null;
  stride: number | null;
  source: ClipSourceKind | null;
  variant: string;
  /** The dataset an artifact made from a whole dataset belongs to (null for per-clip ones: clip ids are unique). */
  dataset: string | null;
  /** Canonical JSON of the parameters that went into the cache key. */
  params: string;
  cacheKey: string;
  /** Absolute path of the recorded file. */
  path: string;
  bytes: number | null;
  contentHash: string | null;
  /** Stamp of what was last hashed (see `artifacts.file_stamp`); null until the first stamped check. */
  fileStamp: string | null;
  status: ArtifactStatus;
  error: string | null;
  attempts: number;
  runId: string | null;
  claimPid: number | null;
  claimHost: string | null;
  claimToken: string | null;
  claimExpiresAt: Date | null;
  /** When the current holder took the claim. */
  claimedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** What `listArtifactFiles` reads of each artifact (by default; `ArtifactListColumn` names what it can). */
export type ArtifactFileRow = Pick<
  ArtifactRow,
  'clipId' | 'direction' | 'stride' | 'source' | 'status' | 'cacheKey' | 'path' | 'bytes' | 'contentHash' | 'fileStamp'
>;

/** The columns `listArtifactFiles` can read: `ArtifactFileRow`'s, and the parameters (feature lists read each one's window count). */
export type ArtifactListColumn = keyof ArtifactFileRow | 'params';

/** A clip as ingest describes it. */
export interface ClipInput {
  id: string;
  dataset: string;
  /** The clip's split where it has exactly one (FERV39k); null/omitted for fold-based datasets. */
  split?: string | null;
  label: number;
  labelName: string;
  frameCount: number;
  fps?: number | null;
  width?: number | null;
  height?: number | null;
  contentHash: string;
}

/** One medium a clip can be read from. */
export interface ClipSourceInput {
  clipId: string;
  kind: ClipSourceKind;
  path: string;
  contentHash: string;
  frameCount: number;
  fps?: number | null;
  width?: number | null;
  height?: number | null;
  isFrameFolder: boolean;
  /** Size and mtime of what was hashed (see `clip_sources.file_stamp`). */
  fileStamp?: string | null;
}

/** What an upsert did: `unchanged` wrote nothing at all. */
export type UpsertOutcome = 'inserted' | 'updated' | 'unchanged';

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  /** Artifacts marked stale because a clip's or source's content hash changed. */
  artifactsMarkedStale: number;
}

export interface ClipQuery {
  dataset?: string;
  /** Matches the clip's own split or its membership in `split_members`. */
  split?: string;
  label?: number;
}

export interface IngestIssueInput {
  dataset: string;
  /** The clip concerned, when the problem is about a known clip id. */
  clipId?: string | null;
  /** The file or folder concerned. */
  path?: string | null;
  reason: IngestIssueReason;
  /** Human-readable detail (the underlying error message). */
  detail?: string | null;
  runId?: string | null;
}

/** Identity with every optional part filled in, as stored. */
export interface NormalizedArtifactIdentity {
  stage: PipelineStage;
  kind: ArtifactKind;
  clipId: string | null;
  direction: Direction | null;
  stride: number | null;
  source: ClipSourceKind | null;
  variant: string;
  dataset: string | null;
}

/** How the current run would make an artifact. */
export interface ArtifactPlanInfo {
  cacheKey: string;
  /** The parameters that went into the cache key, stored as JSON for inspection. */
  params?: Record<string, unknown>;
  /** Where the file goes; stored resolved to an absolute path. */
  path: string;
}

export type PlanReason =
  | 'up-to-date'
  | 'new'
  | 'key-changed'
  | 'file-missing'
  | 'size-mismatch'
  | 'hash-mismatch'
  | 'failed'
  | 'stale'
  | 'pending'
  | 'path-changed';

/**
 * What deciding whether an artifact is up to date reads of its row (`getArtifactStates`): its
 * key, status, recorded file, and what tells whether the row is still as it was read.
 */
export type ArtifactState = Pick<
  ArtifactRow,
  'id' | 'identity' | 'status' | 'cacheKey' | 'path' | 'bytes' | 'contentHash' | 'fileStamp' | 'error' | 'completedAt'
>;

export interface ArtifactPlan {
  decision: 'skip' | 'todo';
  reason: PlanReason;
  /** The row as it stands after planning (undefined for a new item). */
  row: ArtifactState | undefined;
}

/** A claim this store holds on an artifact. */
export interface ArtifactClaim {
  artifactId: number;
  identity: NormalizedArtifactIdentity;
  identityKey: string;
  token: string;
  path: string;
  cacheKey: string;
  expiresAt: Date;
}

export interface ClaimOptions {
  leaseMs?: number;
  runId?: string | null;
}

export interface CompletedFile {
  path: string;
  bytes: number;
  contentHash: string;
  /** Stamp of the file as hashed (see `artifacts.file_stamp`); without it the next check hashes. */
  fileStamp?: string | null;
}

/** An existing file recorded as a done artifact without a claim of its own (see `ArtifactLedger.registerDone`). */
export interface RegisteredArtifact {
  identity: ArtifactIdentity;
  cacheKey: string;
  /** The parameters that went into the cache key, stored as JSON for inspection. */
  params?: Record<string, unknown>;
  file: CompletedFile;
}

export interface RegisterCounts {
  registered: number;
  /** Left alone: another live process holds a claim on them. */
  taken: number;
}

/** Selects artifacts; every given field must match (null matches NULL). */
export interface ArtifactFilter {
  stage?: PipelineStage;
  kind?: ArtifactKind;
  clipId?: string | null;
  direction?: Direction | null;
  stride?: number | null;
  source?: ClipSourceKind | null;
  variant?: string;
  dataset?: string | null;
  status?: ArtifactStatus | readonly ArtifactStatus[];
  /** Only rows whose cache key differs from this one. */
  cacheKeyNot?: string;
}

export interface RunCounts {
  [name: string]: number;
}

export interface FinishRunInput {
  outcome: Exclude<RunOutcome, 'running'>;
  counts?: RunCounts;
  error?: unknown;
}

export interface StageStatus {
  stage: PipelineStage;
  /** Done rows whose file is present (or unchecked when `checkFiles` is false). */
  done: number;
  stale: number;
  failed: number;
  pending: number;
  /** Done rows whose file is gone. */
  missing: number;
  total: number;
  /** Bytes recorded for done rows. */
  bytes: number;
}

export interface FailedArtifact extends NormalizedArtifactIdentity {
  path: string;
  error: string | null;
  attempts: number;
  updatedAt: Date;
}

/** How many artifacts of a stage have a status, and the bytes recorded for them. */
export interface ArtifactStatusCount {
  stage: PipelineStage;
  status: ArtifactStatus;
  count: number;
  bytes: number;
}

export interface IngestIssueCounts {
  total: number;
  byReason: Record<string, number>;
  byDataset: Record<string, number>;
}

export interface ClipCounts {
  total: number;
  byDataset: Record<string, number>;
}

/** A claim on an artifact: who holds it (a worker) and until when. */
export interface Lease {
  stage: PipelineStage;
  /** The artifact, as `describeIdentity` names it. */
  item: string;
  host: string | null;
  pid: number | null;
  claimedAt: Date | null;
  expiresAt: Date | null;
  /** Since the claim was taken, on the database's clock. */
  ageMs: number | null;
  /** The lease ran out, or its process on this machine is gone: another worker may take the item. */
  expired: boolean;
}

export interface StatusSummary {
  /** In pipeline order (the artifact catalogue's). */
  stages: StageStatus[];
  failed: FailedArtifact[];
  /** Done rows whose file is gone (paths). */
  missing: string[];
  ingestIssues: IngestIssueCounts;
  clips: ClipCounts;
  /** Most recent run of each stage, in pipeline order. */
  lastRuns: RunRow[];
  /** Items being made now, by live workers on any machine, oldest claim first. */
  workers: Lease[];
  /** Items whose worker stopped renewing (killed, partitioned): the next worker to reach them redoes them. */
  expiredLeases: Lease[];
}

export interface StatusOptions {
  /** Stat every done file to count missing ones. Default true. */
  checkFiles?: boolean;
  /** At most this many failed items are listed. Default 50. */
  failedLimit?: number;
}
