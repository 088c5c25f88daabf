import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, InputError, nativeKernelsActive, seededUniformStream } from 'shared';
import { validatePthNetConfig } from './config.js';
import { DEFAULT_PTHNET_SEED, LEVEL_LENGTH_MULTIPLE } from './constants.js';
import type { DropPathSetting, ParamLookup } from './layers.js';
import { downsample, embedding, head, keyMaskBias, ssdLayer, withInferenceKernels } from './layers.js';
import { parameterCount, pthnetParameterSpecs, toInternalLayout, toReferenceLayout } from './params.js';
import type {
  ForwardOptions,
  ParameterSpec,
  ParameterTensor,
  PthNetConfig,
  PyramidBatch,
  PyramidLevel,
  PyramidLogits,
  StateDict,
} from './types.js';

export interface PthNetOptions {
  /** Seed of the initial weights and of the default stochastic-depth generator. */
  seed?: number;
}

let instances = 0;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * PTH-Net (SPEC section 5) as tf.Variables named and ordered like the reference state dict.
 * The big matrices are held in matMul orientation (see `ParameterLayout`); `stateDict()` and
 * `loadStateDict()` speak the reference layout.
 */
export class PthNet {
  readonly config: PthNetConfig;
  readonly specs: readonly ParameterSpec[];
  /** Drop-path probability used in training (the reference's `path_pdrop`); 0 turns stochastic depth off. */
  dropPathProb: number;
  private readonly variables = new Map<string, tf.Variable>();
  private readonly specByName = new Map<string, ParameterSpec>();
  private readonly nameOfVariable = new Map<string, string>();
  private readonly rng: () => number;
  private readonly lookup: ParamLookup = (name) => {
    const variable = this.variables.get(name);
    if (variable === undefined) throw new Error(`PTH-Net has no parameter ${name}`);
    return variable;
  };

  constructor(config: PthNetConfig, options: PthNetOptions = {}) {
    this.config = config;
    this.specs = pthnetParameterSpecs(config);
    this.dropPathProb = config.path_pdrop;
    const seed = options.seed ?? DEFAULT_PTHNET_SEED;
    this.rng = seededUniformStream(seed, 0x64726f70);
    const scope = `pthnet${instances++}`;
    this.specs.forEach((spec, index) => {
      const data = initialValue(spec, seededUniformStream(seed, index));
      const variable = tf.tidy(() => tf.variable(tf.tensor(data, spec.internalShape, 'float32'), true, `${scope}/${spec.name}`));
      this.variables.set(spec.name, variable);
      this.specByName.set(spec.name, spec);
      this.nameOfVariable.set(variable.name, spec.name);
    });
  }

  get parameterCount(): number {
    return parameterCount(this.specs);
  }

  /** Reference names in reference order. */
  parameterNames(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** The variables (internal layout), keyed by reference name, in reference order. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map(this.variables);
  }

  /** Reference name of one of this network's variables (as `tf.variableGrads` keys them). */
  referenceName(variableName: string): string | undefined {
    return this.nameOfVariable.get(variableName);
  }

  spec(name: string): ParameterSpec {
    const spec = this.specByName.get(name);
    if (spec === undefined) throw new CheckpointError(`PTH-Net has no parameter ${name}`);
    return spec;
  }

  /** A parameter-shaped tensor (a weight, its gradient, a momentum buffer) in reference layout. */
  toReference(name: string, internal: Float32Array): ParameterTensor {
    const spec = this.spec(name);
    return { shape: [...spec.shape], data: toReferenceLayout(spec, internal) };
  }

  /** Reference layout -> this network's layout for parameter `name` (shape checked). */
  fromReference(name: string, tensor: ParameterTensor): Float32Array {
    const spec = this.spec(name);
    if (!sameShape(spec.shape, tensor.shape)) {
      throw new CheckpointError(`${name}: expected shape ${shapeText(spec.shape)}, got ${shapeText(tensor.shape)}`);
    }
    const size = spec.shape.reduce((n, d) => n * d, 1);
    if (tensor.data.length !== size) {
      throw new CheckpointError(`${name}: shape ${shapeText(tensor.shape)} needs ${size} values, got ${tensor.data.length}`);
    }
    return toInternalLayout(spec, tensor.data);
  }

  /** Every parameter in reference layout and order (a copy). */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const spec of this.specs) out.set(spec.name, this.toReference(spec.name, this.lookup(spec.name).dataSync() as Float32Array));
    return out;
  }

  /**
   * Loads reference-layout parameters. A uniform `module.` prefix (multi-GPU checkpoints) is
   * dropped; a missing key, an unexpected key or a shape mismatch is a `CheckpointError`.
   */
  loadStateDict(stateDict: ReadonlyMap<string, ParameterTensor>): void {
    const keys = [...stateDict.keys()];
    const prefixed = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
    const entries = new Map<string, ParameterTensor>();
    for (const [key, value] of stateDict) entries.set(prefixed ? key.slice('module.'.length) : key, value);
    for (const [key, value] of entries) {
      if (!this.specByName.has(key)) {
        throw new CheckpointError(`unexpected key ${key} (shape ${shapeText(value.shape)}): PTH-Net has no such parameter`);
      }
    }
    const converted = this.specs.map((spec) => {
      const value = entries.get(spec.name);
      if (value === undefined) throw new CheckpointError(`missing key ${spec.name} (expected shape ${shapeText(spec.shape)})`);
      return { spec, data: this.fromReference(spec.name, value) };
    });
    for (const { spec, data } of converted) {
      tf.tidy(() => (this.lookup(spec.name) as tf.Variable).assign(tf.tensor(data, spec.internalShape, 'float32')));
    }
  }

  /** Training forward: the three levels through the same layers (only convw_/convkw_ differ). */
  forwardTrain(batch: PyramidBatch<tf.Tensor>, options: ForwardOptions): PyramidLogits<tf.Tensor2D> {
    const prob = options.dropPathProb ?? this.dropPathProb;
    const drop: DropPathSetting | null = options.training && prob > 0 ? { prob, rng: options.dropPathRng ?? this.rng } : null;
    return tf.tidy(() => ({
      p_L: this.forwardLevel(batch.x_L, batch.m_L, 'L', drop),
      p_M: this.forwardLevel(batch.x_M, batch.m_M, 'M', drop),
      p_H: this.forwardLevel(batch.x_H, batch.m_H, 'H', drop),
    }));
  }

  /** Inference: level H alone, eval mode. Returns logits `[B, classes]`. */
  predict(x_H: tf.Tensor, m_H: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => withInferenceKernels(() => this.forwardLevel(x_H, m_H, 'H', null)));
  }

  /** One level, `x [B, n_in, T]`, `mask [B, 1, T]` (bool or 0/1) -> logits `[B, classes]`. */
  forwardLevel(x: tf.Tensor, mask: tf.Tensor, level: PyramidLevel, drop: DropPathSetting | null): tf.Tensor2D {
    const param = this.lookup;
    const [nEmbd, nStem, nBranch1, nBranch2] = this.config.arch;
    const branchDrop = this.config.path_pdrop > 0 ? { drop } : null;
    let { steps: h, mask: m } = this.toSteps(x, mask, level);
    for (let i = 0; i < nEmbd; i++) h = embedding(param, i, h, m, this.config.thr_size[0], i > 0);
    // the native attention kernel masks keys itself
    const biasOf = (mask: tf.Tensor3D): tf.Tensor4D | undefined => (nativeKernelsActive() ? undefined : keyMaskBias(mask));
    let maskBias = biasOf(m);
    for (let i = 0; i < nStem; i++) h = ssdLayer(param, `stem.${i}.`, h, m, maskBias, level, null);
    for (const [branch, layers] of [
      ['branch_1', nBranch1],
      ['branch_2', nBranch2],
    ] as const) {
      ({ x: h, mask: m } = downsample(h, m));
      maskBias = biasOf(m);
      for (let i = 0; i < layers; i++) h = ssdLayer(param, `${branch}.${i}.`, h, m, maskBias, level, branchDrop);
    }
    return head(param, h, m);
  }

  /** `[B, C, T]` features and `[B, 1, T]` mask -> `[B, T, C]` and a `[B, T, 1]` float mask. */
  private toSteps(x: tf.Tensor, mask: tf.Tensor, level: PyramidLevel): { steps: tf.Tensor3D; mask: tf.Tensor3D } {
    const [batch, channels, steps] = x.shape;
    if (x.rank !== 3 || batch === undefined || channels !== this.config.n_in) {
      throw new InputError(`x_${level}: expected shape [B, ${this.config.n_in}, T], got ${shapeText(x.shape)}`);
    }
    if (steps === undefined || steps % LEVEL_LENGTH_MULTIPLE !== 0) {
      throw new InputError(`x_${level}: expected T a multiple of ${LEVEL_LENGTH_MULTIPLE} (two stride-2 pools), got T = ${steps}`);
    }
    if (!sameShape(mask.shape, [batch, 1, steps])) {
      throw new InputError(`m_${level}: expected shape ${shapeText([batch, 1, steps])}, got ${shapeText(mask.shape)}`);
    }
    return {
      steps: tf.transpose(tf.cast(x, 'float32'), [0, 2, 1]) as tf.Tensor3D,
      mask: tf.reshape(tf.cast(mask, 'float32'), [batch, steps, 1]),
    };
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    this.variables.clear();
  }
}

function initialValue(spec: ParameterSpec, random: () => number): Float32Array {
  const size = spec.shape.reduce((n, d) => n * d, 1);
  const data = new Float32Array(size);
  if (spec.init.kind === 'constant') {
    data.fill(spec.init.value);
    return data;
  }
  // Uniform(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default kaiming_uniform(a=sqrt(5)).
  const bound = 1 / Math.sqrt(spec.init.fanIn);
  for (let i = 0; i < size; i++) data[i] = (2 * random() - 1) * bound;
  // Drawn in reference layout so a seed gives the same network whatever the internal layout.
  return toInternalLayout(spec, data);
}

/** Builds a PTH-Net from a partial config (defaults: the published FERV39k config). */
export function createPthNet(config: Partial<PthNetConfig> = {}, options: PthNetOptions = {}): PthNet {
  return new PthNet(validatePthNetConfig(config), options);
}
