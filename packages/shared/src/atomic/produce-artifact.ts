import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/cache-key.js';
import { hashFileWithSize } from '../cache/hash.js';
import { fileStamp, fileStampSync } from '../cache/stamp.js';
import { ManifestError } from '../errors/index.js';
import { describeIdentity } from '../manifest/identity.js';
import type { ArtifactLedger } from '../manifest/interfaces.js';
import type { ArtifactIdentity, ArtifactPlan, ArtifactPlanInfo, ArtifactState, RegisterCounts } from '../manifest/types.js';
import { ARTIFACT_CATALOGUE, ARTIFACT_RECORD_FILE } from '../pipeline/catalogue.js';
import { CHECK_BATCH_ROWS, REGISTER_BATCH_ROWS, TEMP_FILE_PATTERN } from './constants.js';
import type {
  ArtifactMaker,
  ArtifactRecord,
  CheckItem,
  CheckOptions,
  FolderStamp,
  FileWriter,
  FolderWriter,
  ProduceArtifactOptions,
  ProducePhase,
  ProduceResult,
  RegisteredFile,
  RegisteredItem,
} from './types.js';
import { cleanStaleTempFiles, fsyncDirectory, fsyncFile, renameDurably, tempPathFor } from './write-file-atomic.js';

/** Anything that holds an artifact ledger: a `ManifestStore`, or a ledger alone in tests. */
export interface LedgerHolder {
  readonly artifacts: ArtifactLedger;
}

/** Folders this process has already swept for temp files of killed writers. */
const sweptFolders = new Set<string>();

/*
 * The one way stages make artifacts. Every artifact goes through the manifest protocol
 *
 *   plan (skip when up to date) → claim (pending, owned by us, with a lease renewed while we
 *   work) → make it → record it done (or failed, with the error)
 *
 * in an order that keeps a crash (even SIGKILL) from ever leaving a `done` row whose files are
 * missing or partial. How "make it" goes depends on the kind's layout in the artifact catalogue:
 *
 * - `file` (features): `write(tmpPath)` → fsync the temp file → sha256 + size of the temp file →
 *   rename over the target → fsync the folder → record done with that size and hash. Killed
 *   before the rename, the target is untouched; after it, the row is still pending, so the next
 *   run redoes it.
 * - `folder` (packed datasets, training runs, reports): the folder's old record is removed, the
 *   writer makes its files in the folder (each atomically), then every file it names is fsynced
 *   and hashed, and a record (`artifact.json`: each file's relative path, size and sha256, see
 *   `ArtifactRecord`) is written to a temp file, fsynced and renamed into the folder LAST. The
 *   manifest records the record file (its size and sha256), so a done row means: the record is
 *   complete, and it was written after every file it lists was complete on disk. Planning a done
 *   folder artifact also checks that each listed file is still there with its size.
 * - `register` (features that already exist, `import-features`): nothing is written; the file is
 *   checked (size, and sha256 unless given), then recorded done.
 *
 * Another live process holding the item, or having just finished it, makes it `skipped`/`taken`.
 * A failing writer is recorded with `fail` and rethrown.
 */

/** Claims and makes one artifact (see above); does not plan (`ensureArtifact` does). */
export async function produceArtifact(
  store: LedgerHolder,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  maker: ArtifactMaker,
  options: ProduceArtifactOptions = {},
): Promise<ProduceResult> {
  const ledger = store.artifacts;
  const how = makerFor(identity, maker);
  const info = ledgerInfo(identity, plan);
  const leaseMs = options.leaseMs ?? ledger.claimLeaseMs;
  const claim = await ledger.claim(identity, info, { leaseMs, runId: options.runId ?? null });
  if (!claim) return { outcome: 'skipped', reason: 'taken' };
  const phase = (p: ProducePhase) => options.onPhase?.(p);
  phase('claimed');
  // A long job (a training run) must not lose its claim to a lease timeout while this process is alive.
  const renewal = setInterval(
    () => {
      // Busy database: the next tick retries; the pid check protects the claim meanwhile.
      ledger.renewClaim(identity, leaseMs).catch(() => undefined);
    },
    Math.max(1000, Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  let tempPath: string | undefined;
  let stamped: { stamp: string; bytes: number } | undefined;
  try {
    let file: { bytes: number; contentHash: string; fileStamp: string };
    if (how.mode === 'register') {
      file = await checkRegistered(claim.path, how.file);
      phase('verified');
    } else {
      const folder = path.dirname(claim.path);
      await mkdir(folder, { recursive: true });
      if (!sweptFolders.has(folder)) {
        await cleanStaleTempFiles(folder);
        sweptFolders.add(folder);
      }
      tempPath = tempPathFor(claim.path);
      if (how.mode === 'file') {
        await how.write(tempPath);
        phase('written');
        await fsyncFile(tempPath);
        stamped = await fileStamp(tempPath);
      } else {
        // A record left from before must never vouch for files that are being replaced.
        await unlink(claim.path).catch(() => undefined);
        const contents = await how.writeFolder(folder);
        if (contents === 'abandoned') {
          await ledger.release(identity);
          return { outcome: 'abandoned' };
        }
        phase('written');
        const members = await writeRecord(tempPath, folder, contents.files, {
          artifact: describeIdentity(identity),
          cacheKey: info.cacheKey,
        });
        const record = await fileStamp(tempPath);
        stamped = record && { ...record, stamp: canonicalJson({ record: record.stamp, files: members } satisfies FolderStamp) };
      }
      phase('synced');
      const { hash, bytes } = await hashFileWithSize(tempPath);
      // A rename keeps the inode and the mtime: the stamp taken before hashing is the target's.
      await renameDurably(tempPath, claim.path);
      tempPath = undefined;
      phase('renamed');
      if (stamped === undefined)
        throw new ManifestError(`${describeIdentity(identity)}: expected the written file ${claim.path}, got none`);
      file = { bytes, contentHash: hash, fileStamp: stamped.stamp };
    }
    await ledger.complete(identity, { path: claim.path, ...file });
    phase('recorded');
    return { outcome: 'produced', path: claim.path, bytes: file.bytes, contentHash: file.contentHash };
  } catch (error) {
    if (tempPath !== undefined) await unlink(tempPath).catch(() => undefined);
    try {
      await ledger.fail(identity, error);
    } catch {
      // Recording the failure is best effort; the original error matters more.
    }
    throw error;
  } finally {
    clearInterval(renewal);
  }
}

/**
 * `checkArtifact` then, unless the artifact is up to date, `produceArtifact`: the whole
 * incremental step for one item.
 */
export async function ensureArtifact(
  store: LedgerHolder,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  maker: ArtifactMaker,
  options: ProduceArtifactOptions & CheckOptions = {},
): Promise<ProduceResult> {
  const decision = await checkArtifact(store, identity, plan, options.verify === undefined ? {} : { verify: options.verify });
  if (decision.decision === 'skip') return { outcome: 'skipped', reason: 'up-to-date' };
  return produceArtifact(store, identity, plan, maker, options);
}

/**
 * Whether an artifact is up to date: done with this cache key at this path, and its file (a
 * folder artifact: its record and every file the record lists) unchanged. By default (`stamp`)
 * unchanged means the same stamp (size, mtime, inode) as when it was last hashed, found with a
 * stat and no read; only a file whose stamp moved is hashed again, and when its content is the
 * same its new stamp is recorded. `hash` hashes everything (`--rehash`); `size` only checks that
 * the files are there with their sizes. Anything else is marked stale, and the plan says `todo`.
 * `checkArtifacts` with one item: the same decision, made in the same place.
 */
export async function checkArtifact(
  store: LedgerHolder,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  options: CheckOptions = {},
): Promise<ArtifactPlan> {
  const [decision] = await checkArtifacts(store, [{ identity, plan }], options);
  // biome-ignore lint/style/noNonNullAssertion: checkArtifacts answers one plan per item
  return decision!;
}

/**
 * `checkArtifact` for many items at once (a stage's whole plan: 233,610 features at FERV39k
 * size), one plan per item in order. The rows are read a chunk at a time and the files stated
 * synchronously (a stat costs microseconds, a round trip through the thread pool tens), so that
 * a rerun with nothing to do costs a few queries per thousand items and a stat per file; only
 * the rows that need it are written (marked stale, or re-stamped after a hash found them unchanged).
 */
export async function checkArtifacts(
  store: LedgerHolder,
  items: readonly CheckItem[],
  options: CheckOptions = {},
): Promise<ArtifactPlan[]> {
  const ledger = store.artifacts;
  const verify = options.verify ?? 'stamp';
  const plans: ArtifactPlan[] = [];
  for (let start = 0; start < items.length; start += CHECK_BATCH_ROWS) {
    const chunk = items.slice(start, start + CHECK_BATCH_ROWS);
    const rows = await ledger.getArtifactStates(chunk.map((item) => item.identity));
    for (const [i, item] of chunk.entries()) {
      const row = rows[i];
      // Recorded paths are resolved: a planned path equal to one is too, and is not resolved again
      // (233,610 resolves cost more than the rest of a no-op check). Nor is an item awaited that
      // needs no read and no write: most of a no-op rerun.
      const planned = recordedPath(item.identity, item.plan.path);
      const filePath = row !== undefined && row.path === planned ? planned : recordedPath(item.identity, path.resolve(item.plan.path));
      const decided = decideArtifact(row, item.identity, item.plan.cacheKey, filePath, verify);
      const verdict = decided instanceof Promise ? await decided : decided;
      if (verdict.decision === 'skip' && verdict.restamp === undefined && row !== undefined)
        plans.push({ decision: 'skip', reason: 'up-to-date', row });
      else plans.push(await settleVerdict(ledger, item.identity, row, verdict));
    }
    options.onChecked?.(chunk.length);
  }
  return plans;
}

/**
 * What the check found for one item: the plan, and the one write it may need (a row that is
 * not up to date is marked stale; a done file hashed again and found unchanged gets its new stamp).
 */
type Verdict =
  | { decision: 'skip'; restamp?: string }
  | { decision: 'todo'; reason: Exclude<ArtifactPlan['reason'], 'up-to-date'>; stale?: string };

/** The decision for one item, from its row and its files; writes nothing (see `settleVerdict`). */
function decideArtifact(
  row: ArtifactState | undefined,
  identity: ArtifactIdentity,
  cacheKey: string,
  filePath: string,
  verify: NonNullable<CheckOptions['verify']>,
): Verdict | Promise<Verdict> {
  if (row === undefined) return { decision: 'todo', reason: 'new' };
  if (row.cacheKey !== cacheKey) return { decision: 'todo', reason: 'key-changed', stale: 'cache key changed' };
  if (row.status !== 'done') return { decision: 'todo', reason: row.status };
  if (row.path !== filePath) return { decision: 'todo', reason: 'path-changed', stale: `path changed to ${filePath}` };
  // the recorded file (a folder artifact's record) is there with its size, whatever `verify` says
  const now = fileStampSync(row.path);
  if (now === undefined) return { decision: 'todo', reason: 'file-missing', stale: 'file-missing' };
  if (row.bytes === null || now.bytes !== row.bytes) return { decision: 'todo', reason: 'size-mismatch', stale: 'size-mismatch' };
  const layout = layoutOf(identity);
  // a file with its recorded stamp (or only its size asked for): what `checkFile` decides, without a promise
  if (layout === 'file' && (verify === 'size' || (verify === 'stamp' && now.stamp === row.fileStamp))) return { decision: 'skip' };
  return decideByContent(row, layout, now.stamp, verify);
}

/** The rest of `decideArtifact`: a folder artifact's files, or a file whose stamp moved (hashed). */
async function decideByContent(
  row: ArtifactState,
  layout: 'file' | 'folder',
  stamp: string,
  verify: NonNullable<CheckOptions['verify']>,
): Promise<Verdict> {
  const problem = layout === 'folder' ? await checkFolder(row, verify) : await checkFile(row, stamp, verify);
  if (problem === undefined) return { decision: 'skip' };
  if (problem.restamp !== undefined) return { decision: 'skip', restamp: problem.restamp };
  return { decision: 'todo', reason: problem.code, stale: problem.reason };
}

/** Makes the verdict's write, if any, and answers the plan with the row as it now stands. */
async function settleVerdict(
  ledger: ArtifactLedger,
  identity: ArtifactIdentity,
  row: ArtifactState | undefined,
  verdict: Verdict,
): Promise<ArtifactPlan> {
  if (verdict.decision === 'skip') {
    if (row === undefined) throw new ManifestError(`${describeIdentity(identity)}: expected a row to skip, got none`);
    if (verdict.restamp === undefined) return { decision: 'skip', reason: 'up-to-date', row };
    await ledger.setFileStamp(identity, row.cacheKey, verdict.restamp);
    return { decision: 'skip', reason: 'up-to-date', row: { ...row, fileStamp: verdict.restamp } };
  }
  const current = row !== undefined && verdict.stale !== undefined ? await ledger.invalidateRow(row, verdict.stale) : row;
  return { decision: 'todo', reason: verdict.reason, row: current };
}

/** Why a done artifact is not up to date, or the stamp to record for it after a hash found it unchanged. */
type CheckProblem =
  | { restamp: string; reason?: undefined }
  | { restamp?: undefined; code: Exclude<ArtifactPlan['reason'], 'up-to-date'>; reason: string };

/** A file artifact whose file is there with its recorded size and has the stamp `now`. */
async function checkFile(row: ArtifactState, now: string, verify: CheckOptions['verify']): Promise<CheckProblem | undefined> {
  if (verify === 'size') return undefined;
  if (verify === 'stamp' && now === row.fileStamp) return undefined;
  const hashed = await hashFileWithSize(row.path).catch(() => undefined);
  if (hashed === undefined) return { code: 'file-missing', reason: 'file-missing' };
  if (hashed.bytes !== row.bytes) return { code: 'size-mismatch', reason: 'size-mismatch' };
  if (hashed.hash !== row.contentHash) return { code: 'hash-mismatch', reason: 'hash-mismatch' };
  // the stamp from before the read: a change while it was read moves it again
  return now === row.fileStamp ? undefined : { restamp: now };
}

/** A folder artifact: its record, then each file the record lists (see `checkArtifact`). */
async function checkFolder(row: ArtifactState, verify: CheckOptions['verify']): Promise<CheckProblem | undefined> {
  const folder = path.dirname(row.path);
  const known = verify === 'stamp' ? parseFolderStamp(row.fileStamp) : undefined;
  if (known !== undefined) {
    const record = fileStampSync(row.path);
    const same =
      record?.stamp === known.record &&
      Object.entries(known.files).every(([file, stamp]) => fileStampSync(path.join(folder, file))?.stamp === stamp);
    if (same) return undefined;
  }
  const recordNow = fileStampSync(row.path);
  if (recordNow === undefined) return { code: 'file-missing', reason: 'file-missing' };
  if (recordNow.bytes !== row.bytes) return { code: 'size-mismatch', reason: 'size-mismatch' };
  const recordProblem = await checkFile(
    { ...row, fileStamp: known?.record ?? null },
    recordNow.stamp,
    verify === 'size' ? 'size' : known ? 'stamp' : 'hash',
  );
  if (recordProblem?.restamp === undefined && recordProblem !== undefined) return recordProblem;
  const recordStamp = recordProblem?.restamp ?? known?.record ?? recordNow.stamp;
  let record: ArtifactRecord;
  try {
    record = await readArtifactRecord(row.path);
  } catch (error) {
    return { code: 'hash-mismatch', reason: `unreadable record ${row.path}: ${(error as Error).message}` };
  }
  const members: Record<string, string> = {};
  for (const file of record.files) {
    const full = path.join(folder, file.path);
    const now = fileStampSync(full);
    if (now === undefined) return { code: 'file-missing', reason: `file-missing: ${file.path}` };
    if (now.bytes !== file.bytes) return { code: 'size-mismatch', reason: `size-mismatch: ${file.path}` };
    members[file.path] = now.stamp;
    if (verify === 'size' || (verify === 'stamp' && known?.files[file.path] === now.stamp)) continue;
    const hashed = await hashFileWithSize(full).catch(() => undefined);
    if (hashed?.hash !== file.sha256) return { code: 'hash-mismatch', reason: `hash-mismatch: ${file.path}` };
  }
  if (verify === 'size') return undefined;
  const stamp = canonicalJson({ record: recordStamp, files: members } satisfies FolderStamp);
  return stamp === row.fileStamp ? undefined : { restamp: stamp };
}

/** A folder artifact's recorded stamp, or undefined for a row without one (hashed once, then stamped). */
function parseFolderStamp(text: string | null): FolderStamp | undefined {
  if (text === null) return undefined;
  try {
    const parsed = JSON.parse(text) as FolderStamp;
    return typeof parsed.record === 'string' && typeof parsed.files === 'object' && parsed.files !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records many existing files as done artifacts of a `file` kind (the `register` maker of
 * `produceArtifact`, for a whole import at once): their size, sha256 and stamp are given, taken
 * when they were hashed. Written in transactions of `REGISTER_BATCH_ROWS` rows; an item another
 * live process holds a claim on is left to it (`taken`).
 */
export async function registerArtifacts(
  store: LedgerHolder,
  items: readonly RegisteredItem[],
  options: Pick<ProduceArtifactOptions, 'runId'> = {},
): Promise<RegisterCounts> {
  const counts: RegisterCounts = { registered: 0, taken: 0 };
  for (let start = 0; start < items.length; start += REGISTER_BATCH_ROWS) {
    const batch = items.slice(start, start + REGISTER_BATCH_ROWS).map((item) => {
      if (layoutOf(item.identity) !== 'file') {
        throw new ManifestError(
          `${describeIdentity(item.identity)}: expected an artifact of the file layout to register, got ${item.identity.kind}`,
        );
      }
      const info = ledgerInfo(item.identity, item.plan);
      return {
        identity: item.identity,
        cacheKey: info.cacheKey,
        ...(info.params === undefined ? {} : { params: info.params }),
        file: { path: info.path, ...item.file },
      };
    });
    const done = await store.artifacts.registerDone(batch, { runId: options.runId ?? null });
    counts.registered += done.registered;
    counts.taken += done.taken;
  }
  return counts;
}

/**
 * Records that an artifact could not be made (e.g. its source failed to decode before any file
 * was written): claim, then fail with the error. Returns false when another process holds it or
 * it is already done with this cache key.
 */
export async function failArtifact(
  store: LedgerHolder,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  error: unknown,
  options: Pick<ProduceArtifactOptions, 'runId'> = {},
): Promise<boolean> {
  const ledger = store.artifacts;
  if (!(await ledger.claim(identity, ledgerInfo(identity, plan), { runId: options.runId ?? null }))) return false;
  return ledger.fail(identity, error);
}

/** The path the manifest records: the file itself, or a folder artifact's record file. */
export function recordedPath(identity: ArtifactIdentity, artifactPath: string): string {
  return layoutOf(identity) === 'folder' ? path.join(artifactPath, ARTIFACT_RECORD_FILE) : artifactPath;
}

/** Every file in a folder (recursively, relative paths), without temp files and the record: what a folder writer usually made. */
export async function listFolderFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && !TEMP_FILE_PATTERN.test(entry.name))
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)))
    .filter((file) => file !== ARTIFACT_RECORD_FILE)
    .sort();
}

/** Reads a folder artifact's record (`<folder>/artifact.json`). */
export async function readArtifactRecord(recordPath: string): Promise<ArtifactRecord> {
  const record = JSON.parse(await readFile(recordPath, 'utf8')) as ArtifactRecord;
  if (record.format !== 'pthnet-artifact-record' || record.version !== 1 || !Array.isArray(record.files)) {
    throw new ManifestError(`${recordPath}: expected a pthnet-artifact-record version 1, got ${JSON.stringify(record).slice(0, 80)}`);
  }
  return record;
}

type Making =
  | { mode: 'file'; write: FileWriter }
  | { mode: 'folder'; writeFolder: FolderWriter }
  | { mode: 'register'; file: RegisteredFile };

function layoutOf(identity: ArtifactIdentity) {
  return ARTIFACT_CATALOGUE[identity.kind].layout;
}

/** The maker, checked against the kind's layout in the catalogue. */
function makerFor(identity: ArtifactIdentity, maker: ArtifactMaker): Making {
  const layout = layoutOf(identity);
  const how: Making =
    typeof maker === 'function'
      ? { mode: 'file', write: maker }
      : 'write' in maker
        ? { mode: 'file', write: maker.write }
        : 'writeFolder' in maker
          ? { mode: 'folder', writeFolder: maker.writeFolder }
          : { mode: 'register', file: maker.register };
  const fits = layout === 'folder' ? how.mode === 'folder' : how.mode !== 'folder';
  if (!fits) {
    throw new ManifestError(
      `${describeIdentity(identity)}: expected a maker for the ${layout} layout of ${identity.kind} (see the artifact catalogue), got ${how.mode}`,
    );
  }
  return how;
}

function ledgerInfo(identity: ArtifactIdentity, plan: ArtifactPlanInfo): ArtifactPlanInfo {
  return { ...plan, path: recordedPath(identity, path.resolve(plan.path)) };
}

/** The registered file as it is now: it must exist, with the given size (and hash) if any. */
async function checkRegistered(
  filePath: string,
  given: RegisteredFile,
): Promise<{ bytes: number; contentHash: string; fileStamp: string }> {
  const info = await fileStamp(filePath);
  if (info === undefined) throw new ManifestError(`register ${filePath}: expected an existing file, got none`);
  if (given.bytes !== undefined && given.bytes !== info.bytes) {
    throw new ManifestError(`register ${filePath}: expected ${given.bytes} bytes, got ${info.bytes} (it changed while it was read)`);
  }
  if (given.contentHash !== undefined)
    return { bytes: info.bytes, contentHash: given.contentHash, fileStamp: given.fileStamp ?? info.stamp };
  const { hash, bytes } = await hashFileWithSize(filePath);
  return { bytes, contentHash: hash, fileStamp: info.stamp };
}

/** fsyncs and hashes each file of a folder artifact, then writes and fsyncs the record at `tempPath`. */
async function writeRecord(
  tempPath: string,
  folder: string,
  files: readonly string[],
  about: Pick<ArtifactRecord, 'artifact' | 'cacheKey'>,
): Promise<Record<string, string>> {
  const relative = [...new Set(files.map((file) => path.relative(folder, path.resolve(folder, file))))].sort();
  const entries: ArtifactRecord['files'] = [];
  const stamps: Record<string, string> = {};
  const folders = new Set<string>();
  for (const file of relative) {
    if (file === '' || file.startsWith('..') || path.isAbsolute(file) || file === ARTIFACT_RECORD_FILE) {
      throw new ManifestError(`${about.artifact}: expected the files of ${folder}, got ${file === '' ? 'the folder itself' : file}`);
    }
    const full = path.join(folder, file);
    await fsyncFile(full);
    folders.add(path.dirname(full));
    const stamp = await fileStamp(full);
    const { hash, bytes } = await hashFileWithSize(full);
    const relativePath = file.split(path.sep).join('/');
    entries.push({ path: relativePath, bytes, sha256: hash });
    if (stamp !== undefined) stamps[relativePath] = stamp.stamp;
  }
  // The files' names must be as durable as their bytes before the record vouches for them.
  for (const dir of folders) await fsyncDirectory(dir);
  const record: ArtifactRecord = { format: 'pthnet-artifact-record', version: 1, ...about, files: entries };
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, 'wx');
    await handle.writeFile(`${canonicalJson(record)}\n`);
    await handle.sync();
  } finally {
    await handle?.close();
  }
  return stamps;
}
