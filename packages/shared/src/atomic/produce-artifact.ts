import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { hashFileWithSize } from '../cache/hash.js';
import type { ManifestStore } from '../manifest/store.js';
import type { ArtifactIdentity, ArtifactPlanInfo, PlanOptions } from '../manifest/types.js';
import type { ProduceArtifactOptions, ProduceResult } from './types.js';
import { cleanStaleTempFiles, fsyncFile, renameDurably, tempPathFor } from './write-file-atomic.js';

/** Folders this process has already swept for temp files of killed writers. */
const sweptFolders = new Set<string>();

/**
 * Makes one artifact under the manifest protocol, in the order that keeps a crash (even
 * SIGKILL) from ever leaving a `done` row without its complete file:
 *
 *   claim (pending, owned by us) → `write(tmpPath)` → fsync tmp → sha256 + size of tmp →
 *   rename over the target → fsync folder → record done.
 *
 * Killed before the rename, the target is untouched and the row stays pending under a dead
 * claim, which the next run takes over; killed after it, the file is complete but the row is
 * still pending, so the next run redoes it. The temp file is hashed rather than the target so
 * the recorded hash is of the bytes this process wrote. The first write into a folder also
 * removes temp files of dead writers there.
 *
 * Returns `skipped`/`taken` when another live process holds the item or has just finished it.
 * A failing `write` is recorded with `store.artifacts.fail` and rethrown.
 */
export async function produceArtifact(
  store: ManifestStore,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  write: (tmpPath: string) => Promise<void>,
  options: ProduceArtifactOptions = {},
): Promise<ProduceResult> {
  const leaseMs = options.leaseMs ?? store.artifacts.claimLeaseMs;
  const claim = store.artifacts.claim(identity, plan, { leaseMs, runId: options.runId ?? null });
  if (!claim) return { outcome: 'skipped', reason: 'taken' };
  options.onPhase?.('claimed');
  const target = claim.path;
  const folder = path.dirname(target);
  const tempPath = tempPathFor(target);
  // A long write must not lose its claim to a lease timeout while this process is alive.
  const renewal = setInterval(
    () => {
      try {
        store.artifacts.renewClaim(identity, leaseMs);
      } catch {
        // Busy database: the next tick retries; the pid check protects the claim meanwhile.
      }
    },
    Math.max(1000, Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  try {
    await mkdir(folder, { recursive: true });
    if (!sweptFolders.has(folder)) {
      await cleanStaleTempFiles(folder);
      sweptFolders.add(folder);
    }
    await write(tempPath);
    options.onPhase?.('written');
    await fsyncFile(tempPath);
    options.onPhase?.('synced');
    const { hash, bytes } = await hashFileWithSize(tempPath);
    await renameDurably(tempPath, target);
    options.onPhase?.('renamed');
    store.artifacts.complete(identity, { path: target, bytes, contentHash: hash });
    options.onPhase?.('recorded');
    return { outcome: 'produced', path: target, bytes, contentHash: hash };
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    try {
      store.artifacts.fail(identity, error);
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
 * incremental step for one item.
 */
export async function ensureArtifact(
  store: ManifestStore,
  identity: ArtifactIdentity,
  plan: ArtifactPlanInfo,
  write: (tmpPath: string) => Promise<void>,
  options: ProduceArtifactOptions & PlanOptions = {},
): Promise<ProduceResult> {
  const decision = await store.artifacts.planArtifact(identity, plan, options.verify === undefined ? {} : { verify: options.verify });
  if (decision.decision === 'skip') return { outcome: 'skipped', reason: 'up-to-date' };
  return produceArtifact(store, identity, plan, write, options);
}
