/** Temp files are named `<name>.<pid>.<12 hex>.tmp` beside their target; this recognises them. */
export const TEMP_FILE_PATTERN = /^(.+)\.(\d+)\.([0-9a-f]{12})\.tmp$/;

/** Random bytes in a temp file name (12 hex digits): enough that two writers never collide. */
export const TEMP_NAME_RANDOM_BYTES = 6;

/**
 * A temp file whose pid is still alive is normally kept (its writer may be busy), but a pid can
 * be reused after a reboot; past this age the file is removed anyway.
 */
export const DEFAULT_TEMP_MAX_AGE_MS = 24 * 60 * 60_000;

/** Largest single write in `writeFully`: Linux caps one write(2) just under 2 GiB. */
export const MAX_WRITE_CHUNK_BYTES = 1 << 30;

/**
 * Rows per manifest transaction when many existing files are registered at once: large enough
 * that commits cost nothing beside the rows, small enough that other writers wait well under a second.
 */
export const REGISTER_BATCH_ROWS = 2000;

/**
 * Items `checkArtifacts` reads the rows of before it states their files: the ledger reads them a
 * few hundred per query, and a chunk of rows, not a whole stage's, is held at once before its files are checked.
 */
export const CHECK_BATCH_ROWS = 2000;
