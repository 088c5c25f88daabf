import type { DemoPatternParams } from './types.js';

/** Label names in the reference index order (SPEC section 2): 0 Happy ... 6 Fear. */
export const DEMO_LABELS = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'] as const;

/** Made-up scenes; each has its own background style, independent of the label. */
export const DEMO_SCENES = ['Street', 'Office', 'Party'] as const;

/** FERV39k folder names (the ingest reader matches them case-insensitively). */
export const RAW_DIR = '0_7_LabelClips';
export const FACE_DIR = '2_ClipsforFaceCrop';
export const SETUPS_DIR = '4_setups/All_scenes';
export const SPLIT_LIST_NAMES = { train: 'train_All.csv', test: 'test_All.csv' } as const;

/** Written last into a finished dataset; its presence (with a matching config) means "complete". */
export const DEMO_MARKER_FILE = 'demo.json';
export const DEMO_MARKER_FORMAT = 'pthnet-demo';
/** Bump when the generated content changes for the same config, so old roots are regenerated. */
export const DEMO_GENERATOR_VERSION = 3;

export const DEFAULT_DEMO_SEED = 0;
export const DEFAULT_CLIPS_PER_CLASS = { train: 24, test: 8 } as const;
/** Small frames: the demo backbone sees 32 x 32 anyway, and decoding stays cheap. */
export const DEFAULT_DEMO_SIZE = 48;
export const DEFAULT_MIN_FRAMES = 8;
export const DEFAULT_MAX_FRAMES = 48;
export const DEFAULT_DEMO_FPS = 25;
export const DEFAULT_DEMO_CONCURRENCY = 2;

/** Raw frames are 4:3 (width = size * 4 / 3, rounded to even for yuv420p). */
export const RAW_ASPECT = 4 / 3;

/** PNG frame names inside a frame folder: 0001.png, 0002.png, ... */
export const FRAME_NAME_PATTERN = '%04d.png';

/** The canonical pattern: played once over the whole clip. */
export const DEFAULT_PATTERN_PARAMS: Readonly<DemoPatternParams> = { start: 0, end: 1, stepAt: 0.5, cycles: 1.5, phase: 0 };

/** Pattern time over which Surprise's step rises (short: the step is sudden). */
export const STEP_WIDTH = 0.08;

/**
 * Rendering constants, in RGB levels and in world units (1 = the raw frame's height).
 *
 * Tuned for the demo backbone: a random-weight ViT (patch 8, 32 x 32, mean pooling) whose
 * features are, to first order, a linear function of the window's mean colour and of its
 * frame-to-frame colour change. So the class lives in large colour and size swings of the
 * face, and the clip-to-clip nuisances that move the frame's mean colour (background mean,
 * illumination gain, clutter colour) are kept small next to them, while layout, clutter
 * motion and noise (which that backbone mostly averages away) vary freely. Measured on
 * 24 + 8 clips per class through the whole `pnpm demo` pipeline (its calibrated random
 * backbone, 12 epochs): UAR/WAR 55 forward, 54 reversed, 61 combined, on raw frames. A numpy
 * copy of that backbone and a small temporal conv net with the same recipe give about 0.41
 * (raw) and 0.77 (face crop), and 0.54 (raw) with 30 epochs.
 */
export const RENDER = {
  /** RGB levels per unit of `tint`: red up, green and blue down. */
  tintAxis: [80, -40, -50] as const,
  /** Relative change of the face's area per unit of `growth`, and the smallest area factor allowed. */
  growthArea: 0.6,
  minimumArea: 0.1,
  /** Per-clip random amplitude factor range of the class signal. */
  amplitudeRange: [0.8, 1.2] as const,
  /** Per-frame Gaussian jitter of each signal channel. */
  signalJitter: 0.06,
  /** Face base colour before per-clip offsets: brighter than the background, so its area shows in the mean colour. */
  skin: [122, 160, 150] as const,
  /** Per-clip base-colour offset range, in signal units along each axis (class-independent nuisance). */
  baseOffset: 0.1,
  /** Per-clip brightness offset range of the face, in levels. */
  faceBrightness: 6,
  /** Face radius range (world units) and the head's horizontal squash. */
  faceRadius: [0.25, 0.3] as const,
  faceAspect: 0.84,
  /** Range of the face centre's offset from the frame centre, and of its drift within the clip. */
  faceOffset: 0.1,
  faceDrift: 0.05,
  /** Face-crop side as a multiple of the clip's base face radius (fixed per clip, so growth stays visible). */
  faceCropRadii: 2.7,
  /** Clutter objects per frame by scene, their size range and speed range (world units per frame). */
  clutterCount: [9, 6, 8] as const,
  clutterSize: [0.05, 0.2] as const,
  clutterSpeed: 0.03,
  /** Background mean colour (shared by all scenes), its per-clip jitter, and the pattern contrast range. */
  backgroundMean: [96, 92, 100] as const,
  backgroundMeanJitter: 5,
  backgroundContrast: 30,
  /** Clutter colours: the background mean plus up to this much per channel. */
  clutterContrast: 70,
  /** Per-pixel uniform noise amplitude, in levels. */
  pixelNoise: 7,
  /** Per-clip illumination gain range, and per-frame flicker (standard deviation). */
  gainRange: [0.95, 1.05] as const,
  flicker: 0.01,
} as const;
