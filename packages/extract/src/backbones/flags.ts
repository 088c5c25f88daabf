import type { ConfigFlag } from 'shared';

/** The backbone's weights, as `extract` and `predict` take them: one spelling of the flags for both. */
export const BACKBONE_WEIGHT_FLAGS: readonly ConfigFlag[] = [
  {
    flags: '--checkpoint <file>',
    key: 'extract.backbone.checkpoint',
    description: 'backbone weights (VideoMAE v2: .pth or .safetensors)',
    kind: 'string',
  },
  {
    flags: '--weight-budget <size>',
    key: 'extract.backbone.weightBudget',
    description:
      'most backbone weight bytes each worker (predict: its thread) holds at once, e.g. 512MiB; a larger model is streamed block by block',
    kind: 'string',
  },
];
