export interface ProgressOptions {
  /** Shown before the bar / at the start of each line, e.g. `extract`. */
  label: string;
  total: number;
  /** What is counted, e.g. `clips`, `windows`. */
  unit?: string;
  /** Where to draw; defaults to stderr so stdout stays clean for `--json`. */
  stream?: NodeJS.WriteStream;
  /** Force the plain line mode (default: plain when the stream is not a TTY). */
  plain?: boolean;
  /** Plain mode: seconds between progress lines. */
  intervalS?: number;
}

export interface Progress {
  /** Advance by `n` items; `status` is a short note shown beside the bar. */
  tick(n?: number, status?: string): void;
  /** Change the total once more work is known. */
  setTotal(total: number): void;
  /** Draw the final state and release the terminal. */
  stop(): void;
}
