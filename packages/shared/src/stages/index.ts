// The stages `shared` contributes to the `pthnet` dispatcher (see `cli/dispatch.ts`).
import { defineStage } from '../cli/dispatch.js';

export const SHARED_STAGES = [
  defineStage('status', 'what the manifest holds: done, stale, failed, missing per stage', () => import('./status.js')),
] as const;
