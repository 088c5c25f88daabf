/**
 * Versions of the code that makes each kind of artifact. They are part of every cache key:
 * bump one when a change alters that stage's output, and exactly its artifacts (and what
 * depends on them) are redone on the next run.
 */
export const CODE_VERSIONS = {
  extract: 'extract/1',
  // 2: the packed index records the strides its features were picked at (`datasets.strides`).
  datasets: 'datasets/2',
  train: 'train/1',
  eval: 'eval/1',
} as const;

/** Artifact kinds, by stage. */
export const ARTIFACT_KINDS = {
  features: 'features',
  featureList: 'feature-list',
  packedDataset: 'packed-dataset',
  checkpoint: 'checkpoint',
  report: 'report',
} as const;
