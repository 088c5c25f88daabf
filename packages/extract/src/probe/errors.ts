import { InputError } from 'shared';
import type { IngestProblemCode } from '../layouts/types.js';

/** What can be wrong with a clip's file itself, found when probing or hashing it. */
export type SourceProblemCode = Extract<IngestProblemCode, 'missing_file' | 'unreadable' | 'zero_length'>;

/** An `InputError` about one source file or frame folder that says which problem it is, for ingest to record. */
export class SourceError extends InputError {
  readonly problem: SourceProblemCode;
  constructor(problem: SourceProblemCode, message: string, path: string, options?: { cause?: unknown }) {
    super(message, path, options);
    this.problem = problem;
  }
}

/** `missing_file` when the file system says the path does not exist, else `unreadable`. */
export function problemOfFsError(error: unknown): SourceProblemCode {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? 'missing_file' : 'unreadable';
}
