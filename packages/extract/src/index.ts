// Public API of the `extract` package.
export * from './windows/types.js';
export * from './windows/constants.js';
export { windowCount, windowStarts, windowFrameIndices, frameOrder, planWindows } from './windows/windows.js';
export { copyWindowFrames } from './windows/window-frames.js';
export * from './layouts/types.js';
export { DEFAULT_LABELS, VIDEO_EXTENSIONS } from './layouts/constants.js';
export { layoutDefinitions, readLayout, registerLayout, validateLayoutConfig } from './layouts/registry.js';
export { readFerv39kLayout, ferv39kClipId, type Ferv39kLayoutConfig, type Ferv39kLayoutOptions } from './layouts/ferv39k.js';
export { readDfewLayout, type DfewLayoutConfig, type DfewLayoutOptions } from './layouts/dfew.js';
export {
  readReferenceListLayout,
  type ReferenceListFile,
  type ReferenceListLayoutConfig,
  type ReferenceListLayoutOptions,
} from './layouts/reference-list.js';
export { readGenericLayout, type GenericLayoutConfig, type GenericLayoutOptions } from './layouts/generic.js';
export * from './probe/types.js';
export { FRAME_EXTENSIONS } from './probe/constants.js';
export { findMediaBinaries, resolveMediaBinaries } from './probe/binaries.js';
export { compareFrameNames, listFrameFiles } from './probe/frames-folder.js';
export { hashSource } from './probe/hash.js';
export { probeSource, ffprobeFile } from './probe/probe.js';
export * from './decode/types.js';
export { decodeClip } from './decode/decode.js';
export * from './demo/types.js';
export { DEMO_LABELS, DEMO_SCENES, DEMO_MARKER_FILE, DEFAULT_PATTERN_PARAMS } from './demo/constants.js';
export { validateDemoConfig } from './demo/config.js';
export { demoClassPattern, demoClipSignal } from './demo/pattern.js';
export { planDemoDataset } from './demo/plan.js';
export { renderDemoClip, demoFrameSize, type FrameSize, type RenderedView } from './demo/render.js';
export { generateDemoDataset } from './demo/generate.js';
export type * from './backbones/types.js';
export { BACKBONE_WEIGHT_FLAGS } from './backbones/flags.js';
export { backboneDefinitions, openBackbone, randomBackboneTensors, registerBackbone, resolveBackbone } from './backbones/registry.js';
export { videoMaeV2Backbone, type VideoMaeSpec } from './backbones/videomae-v2.js';
export type { VitConfig, VitConfigInput, VitNormalization, VitPresetName, VitShape, VitTensorSource } from './videomae/types.js';
export { benchVit, type VitBenchOptions, type VitBenchResult, type VitBenchRun } from './bench/vit.js';
export { runExtract, planExtractItems, writeFeatureLists, type ExtractSummary } from './stages/extract.js';
export { ingestDataset, type IngestSummary } from './stages/ingest.js';
