import { ATTENTION_CONV_KERNEL, DROP_PATH_SCALE_INIT } from './constants.js';
import type { ParameterLayout, ParameterSpec, PthNetConfig } from './types.js';

const ONE = { kind: 'constant', value: 1 } as const;
const ZERO = { kind: 'constant', value: 0 } as const;

function internalShapeOf(layout: ParameterLayout, shape: number[]): number[] {
  const [a = 1, b = 1, c = 1] = shape;
  switch (layout) {
    case 'conv':
      return [b, c * a];
    case 'matrix':
      return [b, a];
    case 'depthwise':
      return [c, a];
    case 'vector':
      return [shape.reduce((n, d) => n * d, 1)];
    case 'unused':
      return [...shape];
  }
}

function spec(name: string, shape: number[], layout: ParameterLayout, init: ParameterSpec['init']): ParameterSpec {
  return { name, shape, internalShape: internalShapeOf(layout, shape), layout, init };
}

/** A conv or linear weight with the reference's default (kaiming-uniform) init. */
function weight(name: string, shape: number[], layout: ParameterLayout): ParameterSpec {
  const [, inPerGroup = 1, k = 1] = shape;
  return spec(name, shape, layout, { kind: 'uniform', fanIn: inPerGroup * k });
}

function channelNorm(prefix: string, c: number, layout: ParameterLayout = 'vector'): ParameterSpec[] {
  return [spec(`${prefix}.weight`, [1, c, 1], layout, ONE), spec(`${prefix}.bias`, [1, c, 1], layout, ZERO)];
}

function depthwise(prefix: string, c: number, k: number, layout: ParameterLayout = 'depthwise'): ParameterSpec[] {
  return [weight(`${prefix}.weight`, [c, 1, k], layout), spec(`${prefix}.bias`, [c], layout === 'unused' ? 'unused' : 'vector', ZERO)];
}

function pointwise(prefix: string, cin: number, cout: number): ParameterSpec[] {
  return [weight(`${prefix}.weight`, [cout, cin, 1], 'matrix'), spec(`${prefix}.bias`, [cout], 'vector', ZERO)];
}

/** The positional embedding the reference builds but never applies (kept for checkpoints). */
function unusedPositional(prefix: string, c: number, k: number): ParameterSpec[] {
  return [
    weight(`${prefix}pos_embed.conv.weight`, [c, 1, k], 'unused'),
    spec(`${prefix}pos_embed.conv.bias`, [c], 'unused', ZERO),
    ...channelNorm(`${prefix}pos_embed_norm`, c, 'unused'),
  ];
}

function ssdLayer(prefix: string, config: PthNetConfig, ks: number, withDropPath: boolean): ParameterSpec[] {
  const c = config.n_embd;
  const [kL, kM, kH] = config.k;
  const kw = ATTENTION_CONV_KERNEL;
  return [
    ...channelNorm(`${prefix}ln`, c),
    spec(`${prefix}gn.weight`, [c], 'vector', ONE),
    spec(`${prefix}gn.bias`, [c], 'vector', ZERO),
    ...depthwise(`${prefix}psi`, c, ks),
    ...depthwise(`${prefix}fc`, c, 1),
    ...depthwise(`${prefix}convw_H`, c, ks),
    ...depthwise(`${prefix}convw_M`, c, ks),
    ...depthwise(`${prefix}convw_L`, c, ks),
    ...depthwise(`${prefix}convkw_H`, c, kH),
    ...depthwise(`${prefix}convkw_M`, c, kM),
    ...depthwise(`${prefix}convkw_L`, c, kL),
    ...depthwise(`${prefix}global_fc`, c, 1),
    weight(`${prefix}cross_att.query_conv.conv.weight`, [c, 1, kw], 'depthwise'),
    ...channelNorm(`${prefix}cross_att.query_norm`, c),
    weight(`${prefix}cross_att.key_conv.conv.weight`, [c, 1, kw], 'depthwise'),
    ...channelNorm(`${prefix}cross_att.key_norm`, c),
    weight(`${prefix}cross_att.value_conv.conv.weight`, [c, 1, kw], 'depthwise'),
    ...channelNorm(`${prefix}cross_att.value_norm`, c),
    ...pointwise(`${prefix}cross_att.key`, c, c),
    ...pointwise(`${prefix}cross_att.query`, c, c),
    ...pointwise(`${prefix}cross_att.value`, c, c),
    ...pointwise(`${prefix}cross_att.proj`, c, c),
    ...pointwise(`${prefix}mlp.0`, c, config.mlp_dim),
    ...pointwise(`${prefix}mlp.2`, config.mlp_dim, c),
    ...(withDropPath
      ? [
          spec(`${prefix}drop_path_out.scale`, [1, c, 1], 'vector', { kind: 'constant', value: DROP_PATH_SCALE_INIT }),
          spec(`${prefix}drop_path_mlp.scale`, [1, c, 1], 'vector', { kind: 'constant', value: DROP_PATH_SCALE_INIT }),
        ]
      : []),
    ...unusedPositional(prefix, c, ks),
  ];
}

/**
 * Every parameter of a PTH-Net, in the order of the reference state dict (the order
 * `model.state_dict()` lists them, which is what checkpoints and `shapes.json` hold).
 */
export function pthnetParameterSpecs(config: PthNetConfig): ParameterSpec[] {
  const c = config.n_embd;
  const [nEmbd, nStem, nBranch1, nBranch2] = config.arch;
  const [ksEmbd, ksStem, ksBranch1, ksBranch2] = config.thr_size;
  const withDropPath = config.path_pdrop > 0;
  const specs: ParameterSpec[] = [];
  for (let i = 0; i < nEmbd; i++) specs.push(weight(`embd.${i}.conv.weight`, [c, i === 0 ? config.n_in : c, ksEmbd], 'conv'));
  for (let i = 0; i < nEmbd; i++) specs.push(...channelNorm(`embd_norm.${i}`, c));
  specs.push(...unusedPositional('', c, ksEmbd));
  for (let i = 0; i < nStem; i++) specs.push(...ssdLayer(`stem.${i}.`, config, ksStem, false));
  for (let i = 0; i < nBranch1; i++) specs.push(...ssdLayer(`branch_1.${i}.`, config, ksBranch1, withDropPath));
  for (let i = 0; i < nBranch2; i++) specs.push(...ssdLayer(`branch_2.${i}.`, config, ksBranch2, withDropPath));
  specs.push(weight('head.weight', [config.num_classes, c], 'matrix'), spec('head.bias', [config.num_classes], 'vector', ZERO));
  return specs;
}

export function parameterCount(specs: readonly ParameterSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((m, d) => m * d, 1), 0);
}

/** Reference layout -> the layout the network computes with (see `ParameterLayout`). */
export function toInternalLayout(spec: ParameterSpec, reference: Float32Array): Float32Array {
  const [a = 1, b = 1, c = 1] = spec.shape;
  switch (spec.layout) {
    case 'vector':
    case 'unused':
      return reference.slice();
    case 'matrix':
      return transpose2d(reference, a, b * c);
    case 'depthwise':
      return transpose2d(reference, a, c);
    case 'conv': {
      // [o, i, j] -> [i, j * Cout + o]
      const out = new Float32Array(reference.length);
      for (let o = 0; o < a; o++) {
        for (let i = 0; i < b; i++) {
          const src = (o * b + i) * c;
          // biome-ignore lint/style/noNonNullAssertion: o < a, i < b, j < c, and reference holds the a * b * c values of this spec's shape (fromReference checks)
          for (let j = 0; j < c; j++) out[i * c * a + j * a + o] = reference[src + j]!;
        }
      }
      return out;
    }
  }
}

/** The layout the network computes with -> reference layout (inverse of `toInternalLayout`). */
export function toReferenceLayout(spec: ParameterSpec, internal: Float32Array): Float32Array {
  const [a = 1, b = 1, c = 1] = spec.shape;
  switch (spec.layout) {
    case 'vector':
    case 'unused':
      return internal.slice();
    case 'matrix':
      return transpose2d(internal, b * c, a);
    case 'depthwise':
      return transpose2d(internal, c, a);
    case 'conv': {
      const out = new Float32Array(internal.length);
      for (let o = 0; o < a; o++) {
        for (let i = 0; i < b; i++) {
          const dst = (o * b + i) * c;
          // biome-ignore lint/style/noNonNullAssertion: o < a, i < b, j < c, and internal holds the a * b * c values of this spec's variable
          for (let j = 0; j < c; j++) out[dst + j] = internal[i * c * a + j * a + o]!;
        }
      }
      return out;
    }
  }
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    // biome-ignore lint/style/noNonNullAssertion: r < rows and col < cols, and data holds the rows * cols values of the parameter
    for (let col = 0; col < cols; col++) out[col * rows + r] = data[r * cols + col]!;
  }
  return out;
}
