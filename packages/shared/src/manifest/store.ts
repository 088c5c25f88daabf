import path from 'node:path';
import { ManifestError } from '../errors/index.js';
import { ManifestArtifactLedger } from './artifact-ledger.js';
import type { ManifestBackend, ManifestDialect } from './backend.js';
import { ManifestClipCatalogue } from './clip-catalogue.js';
import { DEFAULT_CLAIM_LEASE_MS, MANIFEST_FILE_NAME } from './constants.js';
import type { ArtifactLedger, ClipCatalogue, ManifestStatus, RunLog } from './interfaces.js';
import { isPostgresLocation } from './location.js';
import { PostgresBackend } from './postgres-backend.js';
import { ManifestRunLog } from './run-log.js';
import { SqliteBackend } from './sqlite-backend.js';
import { ManifestStatusReader } from './status.js';
import type { ManifestOpenOptions } from './types.js';

/** The database behind each store: private to the manifest (see `backendOf`). */
const backends = new WeakMap<ManifestStore, ManifestBackend>();

/**
 * The manifest: a database that records every clip and every artifact of the pipeline, so that
 * reruns only redo what changed and concurrent processes never do the same item twice. A SQLite
 * file by default; a PostgreSQL server (a `postgres://` location) when several machines share
 * the work. Nothing outside the manifest knows which.
 *
 * A thin facade: it owns the one database handle and hands out the modules that use it, each a
 * focused interface over plain data (see ./interfaces.ts):
 * - `clips`: clips, their sources, splits, label maps and ingest issues;
 * - `runs`: the run log;
 * - `artifacts`: the artifact ledger (plan, claim, complete, fail; `produceArtifact` in
 *   ../atomic runs it crash-safely);
 * - `status`: the summary `pthnet status` prints.
 */
export class ManifestStore {
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly path: string;
  readonly dialect: ManifestDialect;
  readonly clips: ClipCatalogue;
  readonly runs: RunLog;
  readonly artifacts: ArtifactLedger;
  readonly status: ManifestStatus;

  private constructor(backend: ManifestBackend, claimLeaseMs: number) {
    this.path = backend.location;
    this.dialect = backend.dialect;
    const artifacts = new ManifestArtifactLedger(backend, claimLeaseMs);
    this.artifacts = artifacts;
    this.clips = new ManifestClipCatalogue(backend, (clipId, source, reason) => artifacts.markClipArtifactsStale(clipId, source, reason));
    this.runs = new ManifestRunLog(backend);
    this.status = new ManifestStatusReader(this.clips, this.runs, this.artifacts);
    backends.set(this, backend);
  }

  /** `<dataDir>/manifest.sqlite`. */
  static defaultPath(dataDir: string): string {
    return path.join(dataDir, MANIFEST_FILE_NAME);
  }

  /**
   * Opens a manifest and applies pending migrations: a `postgres://` (or `postgresql://`) URL, or
   * a SQLite file (created if needed), or an in-memory SQLite database for `':memory:'`.
   */
  static async open(location: string, options: ManifestOpenOptions = {}): Promise<ManifestStore> {
    const claimLeaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    if (!(Number.isFinite(claimLeaseMs) && claimLeaseMs > 0)) {
      throw new ManifestError(`claimLeaseMs: expected a positive number, got ${claimLeaseMs}`);
    }
    const backend = isPostgresLocation(location) ? await PostgresBackend.open(location, options) : SqliteBackend.open(location, options);
    return new ManifestStore(backend, claimLeaseMs);
  }

  /** Migrations recorded in the database, oldest first. */
  appliedMigrations(): Promise<Array<{ hash: string; createdAt: number }>> {
    return backendOf(this).appliedMigrations();
  }

  /** Releases this store's claims (so others need not wait for the lease) and closes. */
  async close(): Promise<void> {
    const backend = backendOf(this);
    if (!backend.open) return;
    if (!backend.readonly) {
      try {
        await this.artifacts.releaseClaims();
      } catch {
        // Closing must not fail because the database is busy; the claims expire or die with us.
      }
    }
    await backend.close();
  }
}

/** The database behind a store: for the manifest's own tests, copies and benchmarks (raw SQL), never for stages. */
export function backendOf(store: ManifestStore): ManifestBackend {
  const backend = backends.get(store);
  if (backend === undefined) throw new ManifestError('backendOf: expected an open ManifestStore');
  return backend;
}
