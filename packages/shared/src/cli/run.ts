import type { ManifestStore } from '../manifest/index.js';
import type { RunCounts } from '../manifest/types.js';
import type { PipelineStage } from '../pipeline/catalogue.js';

export interface StageRun {
  id: string;
  /** Aborted on the first Ctrl-C: finish the item in hand, record it, then stop. */
  signal: AbortSignal;
}

export interface StageRunResult {
  counts: RunCounts;
  /** `failed` when some items failed but the run itself completed: the command then exits 1. */
  outcome?: 'ok' | 'failed';
}

/**
 * Runs one stage as a recorded run. The first Ctrl-C asks the stage to stop after the item
 * in hand (everything done so far is already recorded, so nothing is lost); a second one
 * exits at once, which is safe too: files are renamed into place before they are recorded.
 */
export async function withStageRun(
  store: ManifestStore,
  stage: PipelineStage,
  config: unknown,
  body: (run: StageRun) => Promise<StageRunResult>,
): Promise<StageRunResult> {
  await store.runs.markInterruptedRuns();
  const id = await store.runs.startRun(stage, config);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\n[${stage}] interrupted: finishing the current item (Ctrl-C again to quit now)\n`);
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await body({ id, signal: controller.signal });
    const outcome = controller.signal.aborted ? 'interrupted' : (result.outcome ?? 'ok');
    await store.runs.finishRun(id, { outcome, counts: result.counts });
    if (controller.signal.aborted) process.exitCode = 130;
    // Items that failed are failed in the manifest (and in `status`): the exit code agrees.
    else if (outcome === 'failed') process.exitCode = 1;
    return result;
  } catch (error) {
    await store.runs.finishRun(id, { outcome: 'failed', error });
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
