import type { Command } from 'commander';

/** What a stage package exports for the `pthnet` dispatcher. */
export interface StageModule {
  /** Builds the stage's commander command (flags, help, action). */
  command(): Command;
}

export interface StageEntry {
  name: string;
  summary: string;
  /** Loaded only when the stage runs, so `pthnet status` does not pay for tfjs or ffmpeg. */
  load(): Promise<StageModule>;
}
