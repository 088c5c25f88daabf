// Test helpers: where the repository's shared reference data lives. Not part of the public API.
import { sharedDir } from 'shared';

/** `<repo>/../shared/data`: the real reference lists (read-only). */
export function referenceDataDir(): string {
  return sharedDir('data');
}
