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

/** Units `parseByteSize` accepts (`extract.backbone.weightBudget`), by what each multiplies. */
export const BYTE_SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};
