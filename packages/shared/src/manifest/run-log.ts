import { randomUUID } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import { isProcessAlive } from '../atomic/liveness.js';
import { canonicalJson } from '../cache/cache-key.js';
import { ManifestError } from '../errors/index.js';
import type { ManifestBackend } from './backend.js';
import { formatError } from './format-error.js';
import type { RunLog } from './interfaces.js';
import type { FinishRunInput, RunRow } from './types.js';
import type { PipelineStage } from '../pipeline/catalogue.js';
import { stageRank } from '../pipeline/catalogue.js';

/** The run log, on either database (see backend.ts). */
export class ManifestRunLog implements RunLog {
  readonly #backend: ManifestBackend;

  constructor(backend: ManifestBackend) {
    this.#backend = backend;
  }

  private get db() {
    return this.#backend.db;
  }

  private get runs() {
    return this.#backend.tables.runs;
  }

  async startRun(stage: PipelineStage, config: unknown = {}): Promise<string> {
    const id = randomUUID();
    await this.#backend.transaction(async () => {
      await this.markInterruptedRuns();
      await this.db.insert(this.runs).values({
        id,
        stage,
        config: canonicalJson(config),
        pid: process.pid,
        host: this.#backend.host,
        startedAt: new Date(),
        outcome: 'running',
      });
    });
    return id;
  }

  async finishRun(runId: string, result: FinishRunInput): Promise<void> {
    const runs = this.runs;
    const finished = await this.#backend.transaction(() =>
      this.db
        .update(runs)
        .set({
          endedAt: new Date(),
          outcome: result.outcome,
          counts: result.counts === undefined ? null : canonicalJson(result.counts),
          error: result.error === undefined ? null : formatError(result.error),
        })
        .where(eq(runs.id, runId))
        .returning({ id: runs.id }),
    );
    if (finished.length === 0) throw new ManifestError(`finishRun: expected a started run, got unknown run id ${runId}`);
  }

  async getRun(runId: string): Promise<RunRow | undefined> {
    const runs = this.runs;
    const [row] = await this.db.select().from(runs).where(eq(runs.id, runId)).limit(1);
    return row;
  }

  async listRuns(query: { stage?: PipelineStage; limit?: number } = {}): Promise<RunRow[]> {
    const runs = this.runs;
    return this.db
      .select()
      .from(runs)
      .where(query.stage === undefined ? undefined : eq(runs.stage, query.stage))
      .orderBy(desc(runs.startedAt))
      .limit(query.limit ?? 100);
  }

  async markInterruptedRuns(): Promise<number> {
    const runs = this.runs;
    return this.#backend.transaction(async () => {
      const open = await this.db
        .select()
        .from(runs)
        .where(and(eq(runs.outcome, 'running'), eq(runs.host, this.#backend.host)));
      let changed = 0;
      for (const run of open) {
        if (!this.isOrphan(run)) continue;
        const marked = await this.db
          .update(runs)
          .set({ outcome: 'interrupted', endedAt: new Date() })
          .where(and(eq(runs.id, run.id), eq(runs.outcome, 'running')))
          .returning({ id: runs.id });
        changed += marked.length;
      }
      return changed;
    });
  }

  async latestRuns(): Promise<RunRow[]> {
    const runs = this.runs;
    const latest = await this.db
      .select()
      .from(runs)
      .where(sql`${runs.startedAt} = (select max(r2.started_at) from runs r2 where r2.stage = ${runs.stage})`);
    return latest
      .map((run) =>
        // A run whose process died without finishing reads as interrupted even before the next
        // startRun records it, since this method writes nothing.
        run.outcome === 'running' && this.isOrphan(run) ? { ...run, outcome: 'interrupted' as const } : run,
      )
      .sort((a, b) => stageRank(a.stage) - stageRank(b.stage) || a.stage.localeCompare(b.stage));
  }

  /** A run of a process on this machine that is gone (a pid elsewhere tells nothing). */
  private isOrphan(run: RunRow): boolean {
    return run.host === this.#backend.host && run.pid !== process.pid && !isProcessAlive(run.pid);
  }
}
