import { describe, expect, it } from 'vitest';
import { validatePthNetConfig } from './config.js';
import { parameterCount, pthnetParameterSpecs, toInternalLayout, toReferenceLayout } from './params.js';
import type { ParameterSpec } from './types.js';

function specFor(name: string, config = validatePthNetConfig({ n_in: 3, n_embd: 16, mlp_dim: 8 })): ParameterSpec {
  const spec = pthnetParameterSpecs(config).find((s) => s.name === name);
  if (!spec) throw new Error(`no ${name}`);
  return spec;
}

describe('PTH-Net parameter table', () => {
  it('counts the tiny fixture config like the reference (38,279)', () => {
    expect(parameterCount(pthnetParameterSpecs(validatePthNetConfig({ n_in: 48, n_embd: 32, mlp_dim: 24 })))).toBe(38279);
  });

  it('omits the drop-path scales when path_pdrop is 0', () => {
    const names = pthnetParameterSpecs(validatePthNetConfig({ n_in: 48, n_embd: 32, mlp_dim: 24, path_pdrop: 0 })).map((s) => s.name);
    expect(names.filter((n) => n.includes('drop_path'))).toEqual([]);
  });

  it('keeps a full conv [Cout, Cin, k] as [Cin, k * Cout], tap-major columns', () => {
    const spec = specFor('embd.0.conv.weight');
    expect(spec.shape).toEqual([16, 3, 3]);
    expect(spec.internalShape).toEqual([3, 48]);
    const reference = Float32Array.from({ length: 16 * 3 * 3 }, (_, i) => i);
    const internal = toInternalLayout(spec, reference);
    // W_ref[o=5, i=2, j=1] sits at column j * 16 + o of row i
    expect(internal[2 * 48 + 1 * 16 + 5]).toBe(reference[5 * 9 + 2 * 3 + 1]);
    expect(Array.from(toReferenceLayout(spec, internal))).toEqual(Array.from(reference));
  });

  it('keeps 1x1 convs and the head transposed, depthwise kernels tap-major', () => {
    const pointwise = specFor('stem.0.mlp.0.weight');
    expect([pointwise.shape, pointwise.internalShape]).toEqual([
      [8, 16, 1],
      [16, 8],
    ]);
    const reference = Float32Array.from({ length: 8 * 16 }, (_, i) => i);
    expect(toInternalLayout(pointwise, reference)[3 * 8 + 7]).toBe(reference[7 * 16 + 3]);
    const depthwise = specFor('branch_1.0.convkw_H.weight');
    expect([depthwise.shape, depthwise.internalShape]).toEqual([
      [16, 1, 5],
      [5, 16],
    ]);
    const taps = Float32Array.from({ length: 16 * 5 }, (_, i) => i);
    expect(toInternalLayout(depthwise, taps)[4 * 16 + 2]).toBe(taps[2 * 5 + 4]);
    expect(Array.from(toReferenceLayout(depthwise, toInternalLayout(depthwise, taps)))).toEqual(Array.from(taps));
    const head = specFor('head.weight');
    expect([head.shape, head.internalShape]).toEqual([
      [7, 16],
      [16, 7],
    ]);
  });

  it('leaves vectors and the unused positional embedding as they are', () => {
    expect(specFor('stem.1.ln.weight').internalShape).toEqual([16]);
    expect(specFor('stem.1.pos_embed.conv.weight')).toMatchObject({ layout: 'unused', internalShape: [16, 1, 1] });
    expect(specFor('branch_2.0.drop_path_mlp.scale').init).toEqual({ kind: 'constant', value: 1e-4 });
    expect(specFor('embd.1.conv.weight').init).toEqual({ kind: 'uniform', fanIn: 48 });
  });
});
