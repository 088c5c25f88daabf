import path from 'node:path';
import { ManifestError } from '../errors/index.js';
import { SqliteArtifactLedger } from './artifact-ledger.js';
import { SqliteClipCatalogue } from './clip-catalogue.js';
import { ManifestConnection } from './connection.js';
import { DEFAULT_CLAIM_LEASE_MS, MANIFEST_FILE_NAME } from './constants.js';
import type { ArtifactLedger, ClipCatalogue, ManifestStatus, RunLog } from './interfaces.js';
import { SqliteRunLog } from './run-log.js';
import { ManifestStatusReader } from './status.js';
import type { ManifestOpenOptions } from './types.js';

/** The connection behind each store: private to the manifest (see `connectionOf`). */
const connections = new WeakMap<ManifestStore, ManifestConnection>();

/**
 * The manifest: a SQLite database that records every clip and every artifact of the pipeline,
 * so that reruns only redo what changed and concurrent processes never do the same item twice.
 *
 * A thin facade: it owns the one connection and hands out the modules that use it, each a
 * focused interface over plain data (see ./interfaces.ts):
 * - `clips`: clips, their sources, splits, label maps and ingest issues;
 * - `runs`: the run log;
 * - `artifacts`: the artifact ledger (plan, claim, complete, fail; `produceArtifact` in
 *   ../atomic runs it crash-safely);
 * - `status`: the summary `pthnet status` prints.
 */
export class ManifestStore {
  readonly path: string;
  readonly clips: ClipCatalogue;
  readonly runs: RunLog;
  readonly artifacts: ArtifactLedger;
  readonly status: ManifestStatus;

  private constructor(connection: ManifestConnection, claimLeaseMs: number) {
    this.path = connection.path;
    const artifacts = new SqliteArtifactLedger(connection, claimLeaseMs);
    this.artifacts = artifacts;
    this.clips = new SqliteClipCatalogue(connection, (clipId, source, reason) => artifacts.markClipArtifactsStale(clipId, source, reason));
    this.runs = new SqliteRunLog(connection);
    this.status = new ManifestStatusReader(this.clips, this.runs, this.artifacts);
    connections.set(this, connection);
  }

  /** `<dataDir>/manifest.sqlite`. */
  static defaultPath(dataDir: string): string {
    return path.join(dataDir, MANIFEST_FILE_NAME);
  }

  /**
   * Opens (creating if needed) a manifest file, or an in-memory one for `':memory:'`, and
   * applies pending migrations (see `ManifestConnection.open`).
   */
  static open(filePath: string, options: ManifestOpenOptions = {}): ManifestStore {
    const claimLeaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    if (!(Number.isFinite(claimLeaseMs) && claimLeaseMs > 0)) {
      throw new ManifestError(`claimLeaseMs: expected a positive number, got ${claimLeaseMs}`);
    }
    return new ManifestStore(ManifestConnection.open(filePath, options), claimLeaseMs);
  }

  /** Migrations recorded in the database, oldest first. */
  appliedMigrations(): Array<{ hash: string; createdAt: number }> {
    return connectionOf(this).appliedMigrations();
  }

  /** Releases this store's claims (so others need not wait for the lease) and closes. */
  close(): void {
    const connection = connectionOf(this);
    if (!connection.open) return;
    if (!connection.readonly) {
      try {
        this.artifacts.releaseClaims();
      } catch {
        // Closing must not fail because the database is busy; the claims expire or die with us.
      }
    }
    connection.close();
  }
}

/** The raw connection behind a store: for the manifest's own tests (raw SQL, pragmas), never for stages. */
export function connectionOf(store: ManifestStore): ManifestConnection {
  const connection = connections.get(store);
  if (connection === undefined) throw new ManifestError('connectionOf: expected an open ManifestStore');
  return connection;
}
