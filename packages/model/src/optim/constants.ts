/** PyTorch's MultiStepLR default. */
export const DEFAULT_MULTISTEP_GAMMA = 0.1;
export const DEFAULT_SGD_MOMENTUM = 0;
export const DEFAULT_SGD_WEIGHT_DECAY = 0;
