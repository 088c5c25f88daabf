/**
 * The manifest's modules, as interfaces over plain data: what the pipeline asks of its
 * database, without a word of SQL. `ManifestStore` implements them over one SQLite file
 * or a PostgreSQL server; every method is asynchronous so
 * that no caller depends on which.
 */
import type { PipelineStage } from '../pipeline/catalogue.js';
import type {
  ArtifactClaim,
  ArtifactFileRow,
  ArtifactListColumn,
  ArtifactFilter,
  ArtifactIdentity,
  ArtifactPlanInfo,
  ArtifactRow,
  ArtifactState,
  ArtifactStatusCount,
  ClaimOptions,
  ClipCounts,
  ClipInput,
  ClipQuery,
  ClipRow,
  ClipSourceInput,
  ClipSourceRow,
  CompletedFile,
  FailedArtifact,
  FinishRunInput,
  IngestIssueCounts,
  IngestIssueInput,
  IngestIssueRow,
  Lease,
  RegisterCounts,
  RegisteredArtifact,
  RunRow,
  StatusOptions,
  StatusSummary,
  UpsertCounts,
  UpsertOutcome,
} from './types.js';
import type { ClipSourceKind } from './constants.js';

/** What the pipeline knows of its input: clips, their sources, splits, label maps and ingest issues. */
export interface ClipCatalogue {
  /**
   * Inserts or updates clips in one transaction. A clip whose fields are all unchanged is not
   * written at all. A changed content hash marks the clip's done and failed artifacts stale.
   */
  upsertClips(inputs: readonly ClipInput[]): Promise<UpsertCounts>;
  upsertClip(input: ClipInput): Promise<UpsertOutcome>;
  getClip(id: string): Promise<ClipRow | undefined>;
  /** In id order. */
  /** `columns`: only these (default all): a stage reading tens of thousands of clips reads what it uses. */
  listClips<K extends keyof ClipRow = keyof ClipRow>(query?: ClipQuery, columns?: readonly K[]): Promise<Array<Pick<ClipRow, K>>>;
  countClips(dataset?: string): Promise<number>;
  /** Names of the datasets that have clips, sorted. */
  listDatasets(): Promise<string[]>;
  clipCounts(): Promise<ClipCounts>;
  /**
   * Inserts or updates clip sources (the clip must exist). A changed content hash marks the
   * clip's done and failed artifacts made from that source stale.
   */
  upsertClipSources(inputs: readonly ClipSourceInput[]): Promise<UpsertCounts>;
  upsertClipSource(input: ClipSourceInput): Promise<UpsertOutcome>;
  getClipSources(clipId: string): Promise<ClipSourceRow[]>;
  getClipSource(clipId: string, kind: ClipSourceKind): Promise<ClipSourceRow | undefined>;
  /** Every source of a dataset's clips (of all datasets when omitted) in one query, by clip id then kind. */
  listClipSources(dataset?: string): Promise<ClipSourceRow[]>;
  /** Replaces the members of a named split (e.g. DFEW `set_1/train`) with `clipIds`. */
  setSplitMembers(dataset: string, split: string, clipIds: readonly string[]): Promise<void>;
  /** Stores a dataset's label names by index, replacing any previous mapping. Returns whether anything changed. */
  setLabelMap(dataset: string, names: readonly string[]): Promise<boolean>;
  /** Label names by index; empty when the dataset has no stored mapping. */
  getLabelMap(dataset: string): Promise<string[]>;
  /** Records bad input; the same (dataset, clip or path, reason) again updates the one record. */
  recordIngestIssue(input: IngestIssueInput): Promise<void>;
  listIngestIssues(query?: { dataset?: string; runId?: string; reason?: string }): Promise<IngestIssueRow[]>;
  /** Forgets a dataset's issues (of one reason, if given). Returns how many. */
  clearIngestIssues(dataset: string, reason?: string): Promise<number>;
  ingestIssueCounts(): Promise<IngestIssueCounts>;
}

/** Every run of every stage: when, where, with what config, and how it ended. */
export interface RunLog {
  /** Records the start of a run and returns its id. Also marks runs of dead processes on this machine interrupted. */
  startRun(stage: PipelineStage, config?: unknown): Promise<string>;
  finishRun(runId: string, result: FinishRunInput): Promise<void>;
  getRun(runId: string): Promise<RunRow | undefined>;
  /** Newest first. */
  listRuns(query?: { stage?: PipelineStage; limit?: number }): Promise<RunRow[]>;
  /** Runs still `running` whose process on this machine is gone become `interrupted`. Returns how many. */
  markInterruptedRuns(): Promise<number>;
  /**
   * The newest run of each stage. One still `running` whose process on this machine is gone
   * reads as interrupted, without writing anything.
   */
  latestRuns(): Promise<RunRow[]>;
}

/**
 * Every artifact the pipeline makes, with its cache key, recorded file and claim.
 *
 * Protocol, per item: plan (skip or todo: `checkArtifact` in ../atomic) → `claim` → write the file atomically →
 * `complete` (or `fail`, or `release` to leave it for later). `produceArtifact` in ../atomic
 * is the one way stages run it.
 */
export interface ArtifactLedger {
  /** Default claim lease, in ms. */
  readonly claimLeaseMs: number;
  /** Identifies this ledger's claims; one per open manifest, so two in one process compete too. */
  readonly claimToken: string;
  getArtifact(identity: ArtifactIdentity): Promise<ArtifactRow | undefined>;
  /**
   * What a check reads of many artifacts' rows, in the order asked (undefined where there is
   * none), a few hundred per query: what planning hundreds of thousands of items
   * (`checkArtifacts` in ../atomic) reads.
   */
  getArtifactStates(identities: readonly ArtifactIdentity[]): Promise<Array<ArtifactState | undefined>>;
  /** In creation order. */
  listArtifacts(filter?: ArtifactFilter): Promise<ArtifactRow[]>;
  /**
   * `listArtifacts` narrowed to what deciding "unchanged" needs (a per-clip artifact's identity
   * parts, status, key, file, hash, stamp): light enough for hundreds of thousands of rows.
   */
  listArtifactFiles<K extends ArtifactListColumn = keyof ArtifactFileRow>(
    filter?: ArtifactFilter,
    /** Only these columns (default all of `ArtifactFileRow`). */
    columns?: readonly K[],
  ): Promise<Array<Pick<ArtifactRow, K>>>;
  /**
   * Takes an artifact for this process, atomically: marks it pending and owned by this ledger
   * (pid, host, token, lease expiry). Returns null when another live process holds an unexpired
   * claim on it, or when it is already done with this cache key. A claim whose process is dead
   * (same machine) or whose lease expired is taken over.
   */
  claim(identity: ArtifactIdentity, info: ArtifactPlanInfo, options?: ClaimOptions): Promise<ArtifactClaim | null>;
  /** Extends this ledger's claim on an artifact. Returns false when the claim is no longer ours. */
  renewClaim(identity: ArtifactIdentity, leaseMs?: number): Promise<boolean>;
  /**
   * Records a claimed artifact as done with its file's size and sha256, and clears the claim.
   * Throws if this ledger no longer holds the claim (it expired and was taken over).
   */
  complete(identity: ArtifactIdentity, file: CompletedFile): Promise<ArtifactRow>;
  /**
   * Records the stamp of a done artifact's file(s) after its content was hashed again and found
   * unchanged, so that the next check is a stat. Returns false unless it is done with `cacheKey`.
   */
  setFileStamp(identity: ArtifactIdentity, cacheKey: string, fileStamp: string): Promise<boolean>;
  /**
   * Records existing files as done artifacts in one transaction, each as a claim and a completion
   * would (path checked, claim cleared), except those another live process holds a claim on. For
   * registering many files at once (`registerArtifacts` in ../atomic).
   */
  registerDone(items: readonly RegisteredArtifact[], options?: ClaimOptions): Promise<RegisterCounts>;
  /** Records a claimed artifact as failed with the error (and its causes). Returns false when the claim is no longer ours. */
  fail(identity: ArtifactIdentity, error: unknown): Promise<boolean>;
  /** Gives back this ledger's claim on one artifact, leaving it pending for the next run. Returns false when it was not ours. */
  release(identity: ArtifactIdentity): Promise<boolean>;
  /** Gives back every claim this ledger holds (the items stay pending, free for anyone). Returns how many. */
  releaseClaims(): Promise<number>;
  /** Marks one done or failed artifact stale, with the reason. Returns whether it changed. */
  invalidate(identity: ArtifactIdentity, reason: string): Promise<boolean>;
  /**
   * Marks a done or failed row stale, with the reason, if it is still as it was read (another
   * process may have moved it on meanwhile); returns the row as it now stands.
   */
  invalidateRow(row: ArtifactState, reason: string): Promise<ArtifactState>;
  /**
   * Marks done/failed artifacts matching `filter` stale (pass `status` to choose other
   * statuses). With `cacheKeyNot`, only those whose key differs. Returns how many changed.
   */
  markStaleWhere(filter: ArtifactFilter): Promise<number>;
  /**
   * For each (identity, current cache key), marks the stored artifact stale if it is done or
   * failed under a different key. Returns how many changed.
   */
  markStaleByKeys(expected: Iterable<{ identity: ArtifactIdentity; cacheKey: string }>): Promise<number>;
  /** Marks the done and failed artifacts made from a clip (from one of its sources, if given) stale. Returns how many. */
  markClipArtifactsStale(clipId: string, source: ClipSourceKind | null, reason: string): Promise<number>;
  /** Artifact counts and recorded bytes per stage and status. */
  statusCounts(): Promise<ArtifactStatusCount[]>;
  /** Stage and path of every done artifact. */
  donePaths(): Promise<Array<{ stage: PipelineStage; path: string }>>;
  /** Every claim held on a pending artifact, live or expired, oldest first. */
  listLeases(): Promise<Lease[]>;
  /** Failed artifacts with their errors, newest first. */
  listFailed(limit: number): Promise<FailedArtifact[]>;
}

/** What `pthnet status` shows, read from the other modules. */
export interface ManifestStatus {
  /**
   * Per stage: done, stale, failed, pending and missing (done but the file is gone) counts, the
   * failed items with their errors, ingest issue counts, clip counts and each stage's last run.
   * Reads only.
   */
  summary(options?: StatusOptions): Promise<StatusSummary>;
}
