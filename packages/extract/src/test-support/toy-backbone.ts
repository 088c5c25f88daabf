// A backbone that only tests register (registries.test.ts): the whole of a new backbone in one
// file, as CONTRIBUTING.md describes, added with registerBackbone instead of a line in
// backbones/registry.ts. Its features: the window's mean colour (R, G, B in [0, 1]) through a
// linear map, `W m + b`, with W `[D, 3]` and b `[D]` from a JSON checkpoint. Never imported by
// production code.
import { readFile, writeFile } from 'node:fs/promises';
import { CheckpointError, ConfigError, InputError } from 'shared';
import type {
  Backbone,
  BackboneConfig,
  BackboneDefinition,
  BackboneSpec,
  BackboneTensorSource,
  OpenBackboneOptions,
  VideoWindowBatch,
} from '../backbones/types.js';

const NAME = 'toy-mean-colour';
const PRESETS = { 'toy-2': 2, 'toy-4': 4 } as const;
const WINDOW_FRAMES = 16;

type ToyPreset = keyof typeof PRESETS;

/** The checkpoint: `{ "weight": D rows of 3, "bias": D }`. */
export interface ToyCheckpoint {
  weight: number[][];
  bias: number[];
}

export function writeToyCheckpoint(file: string, checkpoint: ToyCheckpoint): Promise<void> {
  return writeFile(file, JSON.stringify(checkpoint));
}

function resolve(config: BackboneConfig): BackboneSpec {
  const preset = config.preset ?? 'toy-4';
  if (!(preset in PRESETS)) throw new ConfigError(`backbone.preset: expected one of ${Object.keys(PRESETS).join(', ')}, got "${preset}"`);
  const featureDim = PRESETS[preset as ToyPreset];
  return {
    backbone: NAME,
    label: preset,
    featureDim,
    window: { frames: WINDOW_FRAMES, height: 8, width: 8 },
    cacheParams: { toyMeanColour: { featureDim } },
    checkpointKind: 'toy checkpoint (.json)',
    flopsPerWindow: 2 * 3 * featureDim,
  };
}

function tensorsOf(checkpoint: ToyCheckpoint, description: string): BackboneTensorSource {
  const values = new Map([
    ['weight', Float32Array.from(checkpoint.weight.flat())],
    ['bias', Float32Array.from(checkpoint.bias)],
  ]);
  return {
    shapes: new Map([
      ['weight', [checkpoint.weight.length, 3]],
      ['bias', [checkpoint.bias.length]],
    ]),
    description,
    read: async (key) => {
      const data = values.get(key);
      if (data === undefined) throw new CheckpointError(`${description}: ${key}: expected weight or bias, got no such key`);
      return data;
    },
    close: async () => undefined,
  };
}

/** The file's weight shape against the spec; `tensors` is what the file holds. */
function checkShapes(spec: BackboneSpec, source: BackboneTensorSource): void {
  const D = spec.featureDim;
  const [rows, columns] = source.shapes.get('weight') ?? [];
  if (rows !== D || columns !== 3) {
    throw new CheckpointError(`${source.description}: weight: expected shape [${D}, 3], got [${source.shapes.get('weight')?.join(', ')}]`);
  }
}

async function readToyCheckpoint(file: string): Promise<BackboneTensorSource> {
  let parsed: ToyCheckpoint;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as ToyCheckpoint;
  } catch (cause) {
    throw new CheckpointError(`${file}: expected a toy checkpoint (JSON), got ${(cause as Error).message}`, file, { cause });
  }
  if (!Array.isArray(parsed?.weight) || !Array.isArray(parsed?.bias)) {
    throw new CheckpointError(`${file}: expected { "weight", "bias" }, got other JSON`, file);
  }
  return tensorsOf(parsed, file);
}

async function open(spec: BackboneSpec, options: OpenBackboneOptions): Promise<Backbone> {
  const { weights } = options;
  let source: BackboneTensorSource;
  if ('checkpoint' in weights) {
    source = await readToyCheckpoint(weights.checkpoint);
  } else {
    source = 'tensors' in weights ? weights.tensors : randomTensors(spec, weights.randomSeed);
  }
  checkShapes(spec, source);
  const D = spec.featureDim;
  const weight = await source.read('weight');
  const bias = await source.read('bias');
  return {
    spec,
    // small enough for this thread whatever `options.workers` asks
    workers: 0,
    backend: 'js',
    backendDetail: 'plain JavaScript',
    async extractFeatures(windows: VideoWindowBatch) {
      const [batch, frames, height, width, channels] = windows.shape;
      if (frames !== WINDOW_FRAMES || channels !== 3) {
        throw new InputError(`${NAME}: windows: expected [B, ${WINDOW_FRAMES}, H, W, 3], got [${windows.shape.join(', ')}]`);
      }
      const pixels = frames * height * width;
      const out = new Float32Array(batch * D);
      for (let b = 0; b < batch; b++) {
        const sum = new Float64Array(3);
        for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) sum[c]! += windows.data[(b * pixels + p) * 3 + c]!;
        const mean = sum.map((s) => s / pixels / 255);
        for (let d = 0; d < D; d++) {
          out[b * D + d] =
            (bias[d] as number) +
            (weight[3 * d] as number) * mean[0]! +
            (weight[3 * d + 1] as number) * mean[1]! +
            (weight[3 * d + 2] as number) * mean[2]!;
        }
      }
      return out;
    },
    close: async () => undefined,
  };
}

/** Seeded weights from a small linear congruential generator, in [-1, 1). */
function randomTensors(spec: BackboneSpec, seed: number): BackboneTensorSource {
  let state = (seed * 2654435761 + 1) >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
  const D = spec.featureDim;
  return tensorsOf(
    { weight: Array.from({ length: D }, () => [next(), next(), next()]), bias: Array.from({ length: D }, next) },
    `toy random weights (seed ${seed})`,
  );
}

export const toyMeanColourBackbone: BackboneDefinition = {
  name: NAME,
  summary: 'a test backbone: the mean colour of a window through a linear map',
  presets: Object.keys(PRESETS),
  resolve,
  check: async (spec, checkpoint) => checkShapes(spec, await readToyCheckpoint(checkpoint)),
  open,
  randomTensors,
};
