/**
 * The PTH-Net state-dict layout: which keys a config implies (in the reference `state_dict()`
 * order, which is also `model.parameters()` order since the network has no buffers), the
 * config a set of shapes implies, and the check that the two agree.
 */
import { CheckpointError, ConfigError } from 'shared';
import type { PthNetConfig } from '../../pthnet/types.js';
import { parsePthNetConfig } from '../../pthnet/config.js';
import { CROSS_ATTENTION_CONV_KERNEL, PTHNET_FERV39K_CONFIG, SSD_STAGES } from './constants.js';

type Shapes = ReadonlyMap<string, readonly number[]>;

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/**
 * Validates a PTH-Net config as stored in a checkpoint (absent keys take the published FERV39k
 * config) with the one PTH-Net validator; errors read "<where>: key K: expected X, got Y".
 */
export function validateCheckpointConfig(raw: unknown, where = 'PTH-Net config'): PthNetConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where}: expected an object, got ${describe(raw)}`);
  return parsePthNetConfig(raw, { keyPrefix: `${where}: key ` });
}

function layerNorm(out: Map<string, number[]>, prefix: string, channels: number): void {
  out.set(`${prefix}.weight`, [1, channels, 1]);
  out.set(`${prefix}.bias`, [1, channels, 1]);
}

function conv(out: Map<string, number[]>, prefix: string, shape: [number, ...number[]], bias: boolean): void {
  out.set(`${prefix}.weight`, shape);
  if (bias) out.set(`${prefix}.bias`, [shape[0]]);
}

/** One SSD layer (`THR_layer`), parameters in registration order. */
function ssdLayer(out: Map<string, number[]>, prefix: string, config: PthNetConfig, kernel: number, dropPath: boolean): void {
  const c = config.n_embd;
  const [kL, kM, kH] = config.k;
  layerNorm(out, `${prefix}.ln`, c);
  conv(out, `${prefix}.gn`, [c], true);
  conv(out, `${prefix}.psi`, [c, 1, kernel], true);
  conv(out, `${prefix}.fc`, [c, 1, 1], true);
  for (const level of ['H', 'M', 'L']) conv(out, `${prefix}.convw_${level}`, [c, 1, kernel], true);
  conv(out, `${prefix}.convkw_H`, [c, 1, kH], true);
  conv(out, `${prefix}.convkw_M`, [c, 1, kM], true);
  conv(out, `${prefix}.convkw_L`, [c, 1, kL], true);
  conv(out, `${prefix}.global_fc`, [c, 1, 1], true);
  for (const part of ['query', 'key', 'value']) {
    conv(out, `${prefix}.cross_att.${part}_conv.conv`, [c, 1, CROSS_ATTENTION_CONV_KERNEL], false);
    layerNorm(out, `${prefix}.cross_att.${part}_norm`, c);
  }
  for (const part of ['key', 'query', 'value', 'proj']) conv(out, `${prefix}.cross_att.${part}`, [c, c, 1], true);
  conv(out, `${prefix}.mlp.0`, [config.mlp_dim, c, 1], true);
  conv(out, `${prefix}.mlp.2`, [c, config.mlp_dim, 1], true);
  if (dropPath) {
    out.set(`${prefix}.drop_path_out.scale`, [1, c, 1]);
    out.set(`${prefix}.drop_path_mlp.scale`, [1, c, 1]);
  }
  conv(out, `${prefix}.pos_embed.conv`, [c, 1, kernel], true);
  layerNorm(out, `${prefix}.pos_embed_norm`, c);
}

/**
 * Every key and shape of the reference PTH-Net (`eth_net`) state dict for `config`, in
 * `state_dict()` order. Unused parameters (`pos_embed*`, other levels' convs) are included:
 * the reference model has them.
 */
export function expectedPthNetShapes(config: PthNetConfig): Map<string, number[]> {
  const checked = validateCheckpointConfig(config);
  const c = checked.n_embd;
  const out = new Map<string, number[]>();
  const embdKernel = checked.thr_size[0];
  for (let i = 0; i < checked.arch[0]; i++) {
    // With LayerNorm after it the embedding conv has no bias (reference: bias=not with_ln).
    conv(out, `embd.${i}.conv`, [c, i === 0 ? checked.n_in : c, embdKernel], !checked.with_ln);
  }
  if (checked.with_ln) for (let i = 0; i < checked.arch[0]; i++) layerNorm(out, `embd_norm.${i}`, c);
  conv(out, 'pos_embed.conv', [c, 1, embdKernel], true);
  layerNorm(out, 'pos_embed_norm', c);
  for (const { prefix, index } of SSD_STAGES) {
    // Drop path (and its learnable scales) exists in the branches only.
    const dropPath = prefix !== 'stem' && checked.path_pdrop > 0;
    for (let i = 0; i < checked.arch[index]; i++) ssdLayer(out, `${prefix}.${i}`, checked, checked.thr_size[index], dropPath);
  }
  if (checked.num_classes > 0) {
    out.set('head.weight', [checked.num_classes, c]);
    out.set('head.bias', [checked.num_classes]);
  }
  return out;
}

function countLayers(shapes: Shapes, prefix: string, probe: string): number {
  let n = 0;
  while (shapes.has(`${prefix}.${n}.${probe}`)) n++;
  return n;
}

/** `f` of each SSD stage (stem, branch_1, branch_2) with its position, as a triple. */
function perStage<T>(f: (stage: (typeof SSD_STAGES)[number], s: 0 | 1 | 2) => T): [T, T, T] {
  const [stem, branch1, branch2] = SSD_STAGES;
  return [f(stem, 0), f(branch1, 1), f(branch2, 2)];
}

function dim(shapes: Shapes, key: string, axis: number, source: string): number {
  const shape = shapes.get(key);
  const value = shape?.[axis];
  if (value === undefined) {
    throw new CheckpointError(
      `${source}: cannot infer the PTH-Net config: expected key ${key} with at least ${axis + 1} dims, got ${shape ? JSON.stringify(shape) : 'no such key'}`,
      source,
    );
  }
  return value;
}

/**
 * Checks `shapes` against the state dict `config` implies; throws `CheckpointError` naming
 * every missing, unexpected or mis-shaped key (with both shapes).
 */
export function checkPthNetShapes(shapes: Shapes, config: PthNetConfig, source = 'state dict'): void {
  const expected = expectedPthNetShapes(config);
  const problems: string[] = [];
  for (const [key, shape] of expected) {
    const actual = shapes.get(key);
    if (!actual) problems.push(`missing key ${key} (expected shape ${JSON.stringify(shape)})`);
    else if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      problems.push(`key ${key}: expected shape ${JSON.stringify(shape)}, got ${JSON.stringify(actual)}`);
    }
  }
  for (const [key, shape] of shapes) if (!expected.has(key)) problems.push(`unexpected key ${key} (shape ${JSON.stringify(shape)})`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).join('; ');
    const more = problems.length > 12 ? `; and ${problems.length - 12} more` : '';
    throw new CheckpointError(`${source} does not fit the PTH-Net config ${JSON.stringify(config)}: ${shown}${more}`, source);
  }
}

/**
 * The PTH-Net config a state dict's shapes imply: widths, layer counts, kernel sizes, class
 * count, LayerNorm and drop-path presence. What shapes cannot show (max_len, scale_factor,
 * use_pos, the drop-path rate) comes from `PTHNET_FERV39K_CONFIG`. The result is checked
 * against every key (`checkPthNetShapes`).
 */
export function inferPthNetConfig(shapes: Shapes, source = 'state dict'): PthNetConfig {
  const defaults = PTHNET_FERV39K_CONFIG;
  const embdLayers = countLayers(shapes, 'embd', 'conv.weight');
  const nEmbd = dim(shapes, 'embd.0.conv.weight', 0, source);
  const nIn = dim(shapes, 'embd.0.conv.weight', 1, source);
  const embdKernel = dim(shapes, 'embd.0.conv.weight', 2, source);
  const stageLayers = perStage(({ prefix }) => countLayers(shapes, prefix, 'ln.weight'));
  const stageKernels = perStage(({ prefix, index }, s) =>
    stageLayers[s] > 0 ? dim(shapes, `${prefix}.0.psi.weight`, 2, source) : defaults.thr_size[index],
  );
  const firstLayer = perStage(({ prefix }, s) => (stageLayers[s] > 0 ? `${prefix}.0` : undefined)).find((p) => p !== undefined);
  const k: PthNetConfig['k'] = firstLayer
    ? [
        dim(shapes, `${firstLayer}.convkw_L.weight`, 2, source),
        dim(shapes, `${firstLayer}.convkw_M.weight`, 2, source),
        dim(shapes, `${firstLayer}.convkw_H.weight`, 2, source),
      ]
    : [...defaults.k];
  const hasDropPath = [...shapes.keys()].some((key) => /\.drop_path_(out|mlp)\.scale$/.test(key));
  const raw: PthNetConfig = {
    n_in: nIn,
    n_embd: nEmbd,
    mlp_dim: firstLayer ? dim(shapes, `${firstLayer}.mlp.0.weight`, 0, source) : defaults.mlp_dim,
    max_len: defaults.max_len,
    arch: [embdLayers, stageLayers[0], stageLayers[1], stageLayers[2]],
    scale_factor: defaults.scale_factor,
    with_ln: shapes.has('embd_norm.0.weight'),
    path_pdrop: hasDropPath ? defaults.path_pdrop : 0,
    downsample_type: 'max',
    thr_size: [embdKernel, stageKernels[0], stageKernels[1], stageKernels[2]],
    k,
    use_pos: defaults.use_pos,
    num_classes: shapes.has('head.weight') ? dim(shapes, 'head.weight', 0, source) : 0,
  };
  let config: PthNetConfig;
  try {
    config = validateCheckpointConfig(raw, `${source} (inferred config)`);
  } catch (cause) {
    throw new CheckpointError(`${source}: shapes imply an invalid PTH-Net config: ${(cause as Error).message}`, source, { cause });
  }
  checkPthNetShapes(shapes, config, source);
  return config;
}
