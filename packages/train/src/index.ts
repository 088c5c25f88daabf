// Public API of the `train` package.
export * from './sampling/types.js';
export * from './sampling/constants.js';
export * from './sampling/sampling.js';
export * from './packed/types.js';
export * from './packed/constants.js';
export * from './packed/feature-list.js';
export * from './packed/packed.js';
export * from './packed/make-batch.js';
export * from './trainer/types.js';
export { trainRun, predictDataset } from './trainer/trainer.js';
export { datasetSpecs, buildDataset } from './stages/datasets.js';
export { checkTrainClasses, trainDirections, trainDirection } from './stages/train.js';
export { importFeatures } from './stages/importFeatures.js';
