// The stages `train` contributes to the `pthnet` dispatcher; modules load only when their stage runs.
import { defineStage } from 'shared/cli';

export const TRAIN_STAGES = [
  defineStage('import-features', 'register features that already exist in the reference layout', () => import('./importFeatures.js')),
  defineStage('datasets', 'pack forward/reversed three-level datasets per split', () => import('./datasets.js')),
  defineStage('train', 'train PTH-Net on the packed datasets (forward and reversed)', () => import('./train.js')),
] as const;
