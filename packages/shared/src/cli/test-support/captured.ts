import { dispatch } from '../dispatch.js';
import type { StageEntry } from '../types.js';

/** What a command printed, and its exit code. */
export interface CapturedRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `pthnet <argv>` in this process over `stages`, with `console.log` captured as `out` and
 * `console.error` and stderr (progress lines, stage logs) as `err`: tests assert what a user reads.
 */
export async function dispatchCaptured(stages: readonly StageEntry[], argv: readonly string[]): Promise<CapturedRun> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (text: unknown) => out.push(String(text));
  console.error = (text: unknown) => err.push(String(text));
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await dispatch(stages, argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}
