import { existsSync } from 'node:fs';
import { stageRank } from '../pipeline/catalogue.js';
import type { PipelineStage } from '../pipeline/catalogue.js';
import type { ArtifactLedger, ClipCatalogue, ManifestStatus, RunLog } from './interfaces.js';
import type { StageStatus, StatusOptions, StatusSummary } from './types.js';

/** The status summary, read through the other modules' interfaces (it knows no database); stages in the catalogue's order. */
export class ManifestStatusReader implements ManifestStatus {
  constructor(
    private readonly clips: ClipCatalogue,
    private readonly runs: RunLog,
    private readonly artifacts: ArtifactLedger,
  ) {}

  async summary(options: StatusOptions = {}): Promise<StatusSummary> {
    const checkFiles = options.checkFiles ?? true;
    const failedLimit = options.failedLimit ?? 50;
    const byStage = new Map<PipelineStage, StageStatus>();
    const stageOf = (stage: PipelineStage): StageStatus => {
      let entry = byStage.get(stage);
      if (!entry) {
        entry = { stage, done: 0, stale: 0, failed: 0, pending: 0, missing: 0, total: 0, bytes: 0 };
        byStage.set(stage, entry);
      }
      return entry;
    };
    for (const group of await this.artifacts.statusCounts()) {
      const entry = stageOf(group.stage);
      entry[group.status] += group.count;
      entry.total += group.count;
      if (group.status === 'done') entry.bytes += group.bytes;
    }
    const leases = await this.artifacts.listLeases();
    const missing: string[] = [];
    if (checkFiles) {
      for (const row of await this.artifacts.donePaths()) {
        if (existsSync(row.path)) continue;
        const entry = stageOf(row.stage);
        entry.missing++;
        entry.done--;
        missing.push(row.path);
      }
    }
    return {
      stages: [...byStage.values()].sort((a, b) => stageRank(a.stage) - stageRank(b.stage)),
      failed: await this.artifacts.listFailed(failedLimit),
      missing,
      ingestIssues: await this.clips.ingestIssueCounts(),
      clips: await this.clips.clipCounts(),
      lastRuns: await this.runs.latestRuns(),
      workers: leases.filter((lease) => !lease.expired),
      expiredLeases: leases.filter((lease) => lease.expired),
    };
  }
}
