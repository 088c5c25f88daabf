// Every stage of the pipeline, in run order: the packages' stage tables composed. This is the only
// place that knows them all, and it sits above every package it names.
import { EVAL_STAGES } from 'eval/stages';
import { EXTRACT_STAGES } from 'extract/stages';
import type { StageEntry } from 'shared/cli';
import { SHARED_STAGES } from 'shared/stages';
import { TRAIN_STAGES } from 'train/stages';

export const STAGES: readonly StageEntry[] = [...EXTRACT_STAGES, ...TRAIN_STAGES, ...EVAL_STAGES, ...SHARED_STAGES];
