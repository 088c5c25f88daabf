import { randomUUID } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import { isProcessAlive } from '../atomic/liveness.js';
import { canonicalJson } from '../cache/cache-key.js';
import { ManifestError } from '../errors/index.js';
import type { ManifestConnection } from './connection.js';
import { formatError } from './format-error.js';
import type { RunLog } from './interfaces.js';
import { runs } from './schema.js';
import type { FinishRunInput, RunRow } from './types.js';
import type { PipelineStage } from '../pipeline/catalogue.js';
import { stageRank } from '../pipeline/catalogue.js';

/** The run log over the manifest's SQLite connection. */
export class SqliteRunLog implements RunLog {
  readonly #connection: ManifestConnection;

  constructor(connection: ManifestConnection) {
    this.#connection = connection;
  }

  private get db() {
    return this.#connection.db;
  }

  startRun(stage: PipelineStage, config: unknown = {}): string {
    const id = randomUUID();
    this.#connection.writeTransaction(() => {
      this.markInterruptedRuns();
      this.db
        .insert(runs)
        .values({
          id,
          stage,
          config: canonicalJson(config),
          pid: process.pid,
          host: this.#connection.host,
          startedAt: new Date(),
          outcome: 'running',
        })
        .run();
    });
    return id;
  }

  finishRun(runId: string, result: FinishRunInput): void {
    const changes = this.db
      .update(runs)
      .set({
        endedAt: new Date(),
        outcome: result.outcome,
        counts: result.counts === undefined ? null : canonicalJson(result.counts),
        error: result.error === undefined ? null : formatError(result.error),
      })
      .where(eq(runs.id, runId))
      .run().changes;
    if (changes === 0) throw new ManifestError(`finishRun: expected a started run, got unknown run id ${runId}`);
  }

  getRun(runId: string): RunRow | undefined {
    return this.db.select().from(runs).where(eq(runs.id, runId)).get();
  }

  listRuns(query: { stage?: PipelineStage; limit?: number } = {}): RunRow[] {
    return this.db
      .select()
      .from(runs)
      .where(query.stage === undefined ? undefined : eq(runs.stage, query.stage))
      .orderBy(desc(runs.startedAt))
      .limit(query.limit ?? 100)
      .all();
  }

  markInterruptedRuns(): number {
    const open = this.db
      .select()
      .from(runs)
      .where(and(eq(runs.outcome, 'running'), eq(runs.host, this.#connection.host)))
      .all();
    let changed = 0;
    for (const run of open) {
      if (!this.isOrphan(run)) continue;
      changed += this.db
        .update(runs)
        .set({ outcome: 'interrupted', endedAt: new Date() })
        .where(and(eq(runs.id, run.id), eq(runs.outcome, 'running')))
        .run().changes;
    }
    return changed;
  }

  latestRuns(): RunRow[] {
    return this.db
      .select()
      .from(runs)
      .where(sql`${runs.startedAt} = (select max(r2.started_at) from runs r2 where r2.stage = ${runs.stage})`)
      .all()
      .map((run) =>
        // A run whose process died without finishing reads as interrupted even before the next
        // startRun records it, since this method writes nothing.
        run.outcome === 'running' && this.isOrphan(run) ? { ...run, outcome: 'interrupted' as const } : run,
      )
      .sort((a, b) => stageRank(a.stage) - stageRank(b.stage) || a.stage.localeCompare(b.stage));
  }

  /** A run of a process on this machine that is gone (a pid elsewhere tells nothing). */
  private isOrphan(run: RunRow): boolean {
    return run.host === this.#connection.host && run.pid !== process.pid && !isProcessAlive(run.pid);
  }
}
