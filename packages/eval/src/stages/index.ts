// The stages `eval` contributes to the `pthnet` dispatcher; modules load only when their stage runs.
import { defineStage } from 'shared/cli';

export const EVAL_STAGES = [
  defineStage('eval', 'evaluate forward, reversed and combined models; write the report', () => import('./eval.js')),
  defineStage('cv', 'k-fold cross-validation: per fold datasets, train forward and reversed, eval; one report', () => import('./cv.js')),
  defineStage('predict', 'classify one video or frame folder end to end', () => import('./predict.js')),
  defineStage('demo', 'generate the built-in demo set and run the whole pipeline on it', () => import('./demo.js')),
] as const;
