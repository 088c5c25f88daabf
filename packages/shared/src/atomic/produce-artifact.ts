import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/cache-key.js';
import { hashFileWithSize } from '../cache/hash.js';
import { ManifestError } from '../errors/index.js';
import { describeIdentity } from '../manifest/identity.js';
import type { ArtifactLedger } from '../manifest/interfaces.js';
import type { ArtifactIdentity, ArtifactPlanInfo, PlanOptions } from '../manifest/types.js';
import { ARTIFACT_CATALOGUE, ARTIFACT_RECORD_FILE } from '../pipeline/catalogue.js';
import { TEMP_FILE_PATTERN } from './constants.js';
import type {
  ArtifactMaker,
  ArtifactRecord,
  FileWriter,
  FolderWriter,
  ProduceArtifactOptions,
  ProducePhase,
  ProduceResult,
  RegisteredFile,
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
  try {
    let file: { bytes: number; contentHash: string };
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
      } else {
        // A record left from before must never vouch for files that are being replaced.
        await unlink(claim.path).catch(() => undefined);
        const contents = await how.writeFolder(folder);
        if (contents === 'abandoned') {
          await ledger.release(identity);
          return { outcome: 'abandoned' };
        }
        phase('written');
        await writeRecord(tempPath, folder, contents.files, { artifact: describeIdentity(identity), cacheKey: info.cacheKey });
      }
      phase('synced');
      const { hash, bytes } = await hashFileWithSize(tempPath);
      await renameDurably(tempPath, claim.path);
      tempPath = undefined;
      phase('renamed');
      file = { bytes, contentHash: hash };
    }
    await ledger.complete(identity, { path: claim.path, ...file });
    phase('recorded');
    return { outcome: 'produced', path: claim.path, ...file };
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
 * `planArtifact` then, unless the artifact is up to date, `produceArtifact`: the whole
 * incremental step for one item. A done folder artifact whose record lists a file that is gone
 * or changed size is marked stale and made again.
 */
export async function ensureArtifact(
  store: LedgerHolder,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  maker: ArtifactMaker,
  options: ProduceArtifactOptions & PlanOptions = {},
): Promise<ProduceResult> {
  const ledger = store.artifacts;
  const info = ledgerInfo(identity, plan);
  const decision = await ledger.planArtifact(identity, info, options.verify === undefined ? {} : { verify: options.verify });
  if (decision.decision === 'skip') {
    const problem = layoutOf(identity) === 'folder' ? await checkRecordedFiles(info.path) : undefined;
    if (problem === undefined) return { outcome: 'skipped', reason: 'up-to-date' };
    await ledger.invalidate(identity, problem);
  }
  return produceArtifact(store, identity, plan, maker, options);
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
async function checkRegistered(filePath: string, given: RegisteredFile): Promise<{ bytes: number; contentHash: string }> {
  const info = await stat(filePath).catch(() => undefined);
  if (!info?.isFile()) throw new ManifestError(`register ${filePath}: expected an existing file, got none`);
  if (given.bytes !== undefined && given.bytes !== info.size) {
    throw new ManifestError(`register ${filePath}: expected ${given.bytes} bytes, got ${info.size} (it changed while it was read)`);
  }
  if (given.contentHash !== undefined) return { bytes: info.size, contentHash: given.contentHash };
  const { hash, bytes } = await hashFileWithSize(filePath);
  return { bytes, contentHash: hash };
}

/** fsyncs and hashes each file of a folder artifact, then writes and fsyncs the record at `tempPath`. */
async function writeRecord(
  tempPath: string,
  folder: string,
  files: readonly string[],
  about: Pick<ArtifactRecord, 'artifact' | 'cacheKey'>,
): Promise<void> {
  const relative = [...new Set(files.map((file) => path.relative(folder, path.resolve(folder, file))))].sort();
  const entries: ArtifactRecord['files'] = [];
  const folders = new Set<string>();
  for (const file of relative) {
    if (file === '' || file.startsWith('..') || path.isAbsolute(file) || file === ARTIFACT_RECORD_FILE) {
      throw new ManifestError(`${about.artifact}: expected the files of ${folder}, got ${file === '' ? 'the folder itself' : file}`);
    }
    const full = path.join(folder, file);
    await fsyncFile(full);
    folders.add(path.dirname(full));
    const { hash, bytes } = await hashFileWithSize(full);
    entries.push({ path: file.split(path.sep).join('/'), bytes, sha256: hash });
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
}

/** Why a done folder artifact is no longer whole (a listed file gone or resized), or undefined. */
async function checkRecordedFiles(recordPath: string): Promise<string | undefined> {
  let record: ArtifactRecord;
  try {
    record = await readArtifactRecord(recordPath);
  } catch (error) {
    return `unreadable record ${recordPath}: ${(error as Error).message}`;
  }
  const folder = path.dirname(recordPath);
  for (const file of record.files) {
    const info = await stat(path.join(folder, file.path)).catch(() => undefined);
    if (!info?.isFile()) return `file-missing: ${file.path}`;
    if (info.size !== file.bytes) return `size-mismatch: ${file.path}`;
  }
  return undefined;
}
