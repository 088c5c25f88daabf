/** Overrides the config's `manifest` (a `postgres://` URL or a SQLite file), e.g. for every worker of a cluster. */
export const MANIFEST_ENV_VAR = 'PTHNET_MANIFEST_URL';

/** File name of the manifest inside a data directory (`<data-dir>/manifest.sqlite`). */
export const MANIFEST_FILE_NAME = 'manifest.sqlite';

/**
 * How long a connection waits for another process's write lock before giving up. Stages run
 * as separate processes over one manifest; a generous wait turns contention into a pause
 * instead of a SQLITE_BUSY failure.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/**
 * How long a claim stays valid without renewal. `produceArtifact` renews it while the writer
 * runs, so this only bounds how long a crashed process on another host (whose pid we cannot
 * check) blocks an item.
 */
export const DEFAULT_CLAIM_LEASE_MS = 10 * 60_000;

/** A migration racing another process's migration of the same fresh file is retried this often. */
export const MIGRATION_ATTEMPTS = 5;

export const CLIP_SOURCE_KINDS = ['raw', 'face'] as const;
export type ClipSourceKind = (typeof CLIP_SOURCE_KINDS)[number];
export const ARTIFACT_DIRECTIONS = ['forward', 'reversed'] as const;
export type Direction = (typeof ARTIFACT_DIRECTIONS)[number];
export const ARTIFACT_STATUSES = ['pending', 'done', 'failed', 'stale'] as const;
export const RUN_OUTCOMES = ['running', 'ok', 'failed', 'interrupted'] as const;

/**
 * Why an item was recorded as an ingest issue instead of stopping a run: the one list of codes,
 * which layout readers, the probe and import-features give and `status` reports.
 */
export const INGEST_ISSUE_REASONS = [
  'missing_file',
  'missing_folder',
  'malformed_line',
  'not_a_clip',
  'unreadable',
  'zero_length',
  'duplicate',
  'unknown_label',
  'missing_from_list',
  // a clip in the train and the test list of one fold (import-features, list layouts)
  'split_conflict',
  // a listed path or clip id that is absolute or climbs out of its root with `..`
  'path_escape',
  // import-features: a feature file that cannot be used (dtype, order, rank, width, rows, values)
  'bad_features',
  // datasets: a done feature file the packer could not use
  'unpackable_features',
] as const;
export type IngestIssueReason = (typeof INGEST_ISSUE_REASONS)[number];

/** The `pg_advisory_lock` key under which a process migrates a PostgreSQL manifest ("pthnet" in ASCII). */
export const POSTGRES_MIGRATION_LOCK = 0x707468_6e6574;

/** The `pg_advisory_xact_lock` key that serialises the clip catalogue's read-then-write transactions. */
export const POSTGRES_CATALOGUE_LOCK = POSTGRES_MIGRATION_LOCK + 1;
