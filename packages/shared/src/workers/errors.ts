import { CheckpointError, ConfigError, InputError, ManifestError, PthnetError, TrainingError } from '../errors/errors.js';
import type { SerializedError } from './types.js';

/** An error as plain data, for `postMessage` (which would drop its class and fields). */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof PthnetError) {
    const path = (error as { path?: unknown }).path;
    return { name: error.name, code: error.code, message: error.message, path: typeof path === 'string' ? path : undefined };
  }
  if (error instanceof Error) return { name: error.name, code: undefined, message: error.message, path: undefined };
  return { name: 'Error', code: undefined, message: String(error), path: undefined };
}

/**
 * The serialized error as the typed error it was, its message prefixed with the thread's name:
 * `CheckpointError`, `ConfigError`, `InputError` (with their path), `TrainingError`,
 * `ManifestError`; anything else a `PthnetError` with its code (default `WORKER`) and the class
 * name after the message.
 */
export function reviveWorkerError(error: SerializedError, name: string): PthnetError {
  const message = `${name}: ${error.message}`;
  switch (error.code) {
    case 'CHECKPOINT':
      return new CheckpointError(message, error.path);
    case 'CONFIG':
      return new ConfigError(message);
    case 'INPUT':
      return new InputError(message, error.path);
    case 'TRAINING':
      return new TrainingError(message);
    case 'MANIFEST':
      return new ManifestError(message);
    default:
      return new PthnetError(error.code ?? 'WORKER', `${message} (${error.name})`);
  }
}
