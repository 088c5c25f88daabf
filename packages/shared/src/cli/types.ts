import type { Command } from 'commander';

/** What a stage module exports for the `pthnet` dispatcher. */
export interface StageModule {
  /** Builds the stage's commander command (flags, help, action). */
  command(): Command;
}

/**
 * A stage as data: each stage package exports a table of these (`<package>/stages`), and the
 * dispatcher at the top of the workspace composes the tables, so no package names a package above it.
 */
export interface StageEntry {
  name: string;
  summary: string;
  /** Loaded only when the stage runs, so `pthnet status` does not pay for tfjs or ffmpeg. */
  load(): Promise<StageModule>;
}
