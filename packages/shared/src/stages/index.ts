// The stages `shared` contributes to the `pthnet` dispatcher (see `cli/dispatch.ts`).
import { defineStage } from '../cli/dispatch.js';

export const SHARED_STAGES = [
  defineStage('status', 'what the manifest holds: done, stale, failed, missing per stage, live workers', () => import('./status.js')),
  defineStage('manifest', 'migrate --to <url or file>: copy the manifest to PostgreSQL or SQLite, verified', () => import('./manifest.js')),
] as const;
