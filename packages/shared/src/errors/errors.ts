/**
 * Typed errors. Every error the pipeline raises on purpose is a `PthnetError` with a stable
 * `code`, so the CLI can print it without a stack trace and tests can match on the class.
 * The underlying failure, when there is one, travels in the standard `cause`.
 */
export class PthnetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A config value or CLI flag that does not validate: names the key, the value and what was expected. */
export class ConfigError extends PthnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/**
 * Why an input was refused, where a caller acts on the kind (tests, summaries):
 * - `path_escape`: a path or clip id taken from input that is absolute or climbs out of its root with `..`
 */
export type InputErrorReason = 'path_escape';

/** Input data (a clip, a list, a feature file) that cannot be used as it is. */
export class InputError extends PthnetError {
  readonly path: string | undefined;
  readonly reason: InputErrorReason | undefined;
  constructor(message: string, path?: string, options?: { cause?: unknown; reason?: InputErrorReason }) {
    super('INPUT', message, options);
    this.path = path;
    this.reason = options?.reason;
  }
}

/**
 * Why a checkpoint was refused, where a caller acts on the kind:
 * - `bad_safetensors_header`: a file that is meant as safetensors (by its name or its first bytes) whose header is unusable
 * - `unknown_format`: neither a PyTorch zip nor a safetensors file
 */
export type CheckpointErrorReason = 'bad_safetensors_header' | 'unknown_format';

/** A checkpoint file (.pth, safetensors) that cannot be read or does not fit the model. */
export class CheckpointError extends PthnetError {
  readonly path: string | undefined;
  readonly reason: CheckpointErrorReason | undefined;
  constructor(message: string, path?: string, options?: { cause?: unknown; reason?: CheckpointErrorReason }) {
    super('CHECKPOINT', message, options);
    this.path = path;
    this.reason = options?.reason;
  }
}

/** The manifest database is inconsistent or cannot be opened. */
export class ManifestError extends PthnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MANIFEST', message, options);
  }
}

/** Training stopped on purpose (NaN loss, interrupted) after saving what it could. */
export class TrainingError extends PthnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRAINING', message, options);
  }
}

/**
 * Two things that must agree on the number of classes do not: the dataset's label set, the
 * config (`train.model.num_classes`), a checkpoint's classification head. Names both counts.
 */
export class ClassCountError extends PthnetError {
  readonly expected: number;
  readonly got: number;
  constructor(message: string, counts: { expected: number; got: number }, options?: { cause?: unknown }) {
    super('CLASS_COUNT', message, options);
    this.expected = counts.expected;
    this.got = counts.got;
  }
}
