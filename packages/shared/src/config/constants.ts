/** File name of the pipeline config, looked up in the working directory (the repo root). */
export const CONFIG_FILE_NAME = 'pthnet.config.json';

/** Environment variable naming the config file (how `--config` reaches stages run by turbo). */
export const CONFIG_ENV_VAR = 'PTHNET_CONFIG';

/** Default working directory for the manifest and every artifact. */
export const DEFAULT_DATA_DIR = 'data';

/** FERV39k / DFEW label order used by the reference code (SPEC section 2). */
export const REFERENCE_LABELS = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'] as const;

export const BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export const DIRECTIONS = ['forward', 'reversed'] as const;
export const SOURCES = ['raw', 'face'] as const;
export const WINDOW_RULES = ['cover', 'inside'] as const;
