// The stages `extract` contributes to the `pthnet` dispatcher; modules load only when their stage runs.
import { defineStage } from 'shared/cli';

export const EXTRACT_STAGES = [
  defineStage('ingest', 'register clips (videos or frame folders) and their labels in the manifest', () => import('./ingest.js')),
  defineStage('extract', 'backbone feature pyramids (VideoMAE v2 by default) to .npy, forward and reversed', () => import('./extract.js')),
] as const;
