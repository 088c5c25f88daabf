/**
 * Parity with the reference PyTorch code on the golden tiny PTH-Net (shared/fixtures/pthnet/tiny,
 * SPEC section 8), on the cpu backend, the wasm backend with its own kernels and the wasm
 * backend with the native addon (OpenBLAS matMuls and native layer kernels, where it is built):
 * eval logits, three SGD steps with every level's outputs, the loss terms, every step-0 gradient,
 * the parameters without gradient, the logits after the steps and the final state dict.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { NpyArray } from 'shared';
import { disableNativeGemm, readNpySync, selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPthNetCheckpoint } from '../checkpoint/index.js';
import { SGD } from '../optim/sgd.js';
import { validatePthNetConfig } from './config.js';
import type { JsonTensor } from './fixtures.test-helper.js';
import { fixturesDir, flatten, maxAbs, maxAbsDiff, readJson } from './fixtures.test-helper.js';
import { PthNet } from './pthnet.js';
import { computeGradients } from './train-step.js';
import type { PthNetConfig, PyramidBatch } from './types.js';

/** SPEC section 8: float32 agreement to expect. */
const LOGIT_TOLERANCE = 1e-4;
const LOSS_TOLERANCE = 1e-4;
const GRADIENT_RELATIVE_TOLERANCE = 1e-4;
/**
 * The float32 noise floor of this fixture's level-L gradient, and of what it carries into the
 * later steps. One GroupNorm group of branch 2 at level L (clip 0, T = 1: two channels whose
 * values, about 5, differ by 0.008, so its variance 1.7e-5 is close to eps) turns ordinary
 * float32 rounding upstream into gradient noise. `packages/model/tools/fixture_noise_floor.py`
 * measures it with the reference PyTorch code itself (largest errors against the fixture):
 *
 *   reference PyTorch, changing only rounding    step-0 grad  step-1/2 logits  logits after
 *   float32, oneDNN conv (the fixture's setting)   1.3e-7        2.5e-6          1.4e-6
 *   float32, PyTorch's native conv (oneDNN off)    2.2e-4        5.4e-4          1.5e-4
 *   float64 (exact to float32 precision)           1.4e-4        3.5e-4          9.8e-5
 *   float32, level-L input 1 ulp up                2.8e-4        6.8e-4          1.9e-4
 *   float32, level-H input 1 ulp up                5.1e-7        3.7e-6          1.9e-6
 *
 * So SPEC's 1e-4 holds there only for code that rounds exactly like the oneDNN kernel that made
 * the fixture: PyTorch with its other conv kernel misses it, and so does exact arithmetic. Ours
 * lands inside that spread (cpu 5.5e-5 / 1.3e-4 / 4.1e-5, wasm 1.8e-4 / 4.5e-4 / 1.1e-4, wasm
 * with the native addon 2.8e-5 / 6.9e-5 / 2.4e-5). The step-0 gradients, the logits of later steps and
 * the logits after the steps are held to this floor; everything upstream of that noise (eval and
 * step-0 logits, losses, the level-H/M convs' gradients, the final weights) to SPEC's 1e-4.
 */
const LEVEL_L_NOISE_FLOOR = 1e-3;

interface Expected {
  config: PthNetConfig;
  optimizer: { lr: number; momentum: number; weight_decay: number; steps: number };
  eval_logits_H: JsonTensor;
  train_steps: Array<{
    pred_L: JsonTensor;
    pred_M: JsonTensor;
    pred_H: JsonTensor;
    loss: number;
    loss_ce: number;
    loss_kl_L: number;
    loss_kl_M: number;
    params_without_grad?: string[];
  }>;
  grads_step0: Record<string, JsonTensor>;
  eval_logits_H_after_steps: JsonTensor;
  param_count: number;
  state_dict_after_steps: Record<string, JsonTensor>;
}

const tinyDir = path.join(fixturesDir(), 'pthnet', 'tiny');
const expected = readJson<Expected>(path.join(tinyDir, 'expected.json'));

function npyTensor(name: string): tf.Tensor {
  const array: NpyArray = readNpySync(path.join(tinyDir, name));
  if (array.dtype === 'int64') return tf.tensor(Int32Array.from(array.data, Number), array.shape, 'int32');
  const data = array.dtype === 'float32' ? array.data : Float32Array.from(array.data as ArrayLike<number>);
  return tf.tensor(data, array.shape, 'float32');
}

const openBlasBuilt = (await selectBackend('wasm')).gemm?.active === true;
const SETUPS = ['cpu', 'wasm', ...(openBlasBuilt ? ['wasm + native addon'] : [])] as const;

describe.each(SETUPS)('PTH-Net parity with the reference on %s', (setup) => {
  let model: PthNet;
  let batch: PyramidBatch<tf.Tensor>;
  let labels: tf.Tensor1D;

  beforeAll(async () => {
    const selected = await selectBackend(setup === 'cpu' ? 'cpu' : 'wasm');
    if (setup === 'wasm') disableNativeGemm();
    else if (setup !== 'cpu') expect(selected.gemm?.active).toBe(true);
    const checkpoint = await loadPthNetCheckpoint(path.join(tinyDir, 'checkpoint_init.pth'));
    model = new PthNet(validatePthNetConfig(expected.config));
    model.loadStateDict(checkpoint.stateDict);
    // the fixture ran with stochastic depth off; the learnable drop-path scales stay
    model.dropPathProb = 0;
    batch = {
      x_L: npyTensor('input_L.npy'),
      x_M: npyTensor('input_M.npy'),
      x_H: npyTensor('input_H.npy'),
      m_L: npyTensor('mask_L.npy'),
      m_M: npyTensor('mask_M.npy'),
      m_H: npyTensor('mask_H.npy'),
    };
    labels = npyTensor('labels.npy') as tf.Tensor1D;
  });

  afterAll(() => {
    tf.dispose([...Object.values(batch), labels]);
    model.dispose();
  });

  it('has the reference parameter count', () => {
    expect(model.parameterCount).toBe(expected.param_count);
  });

  it('gives the reference eval logits (level H)', () => {
    const logits = model.predict(batch.x_H, batch.m_H);
    expect(logits.shape).toEqual(expected.eval_logits_H.shape);
    expect(maxAbsDiff(logits.dataSync(), flatten(expected.eval_logits_H))).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    logits.dispose();
  });

  it('follows the reference through three SGD steps', () => {
    const { lr, momentum, weight_decay, steps } = expected.optimizer;
    const optimizer = new SGD(model.namedVariables(), { lr, momentum, weightDecay: weight_decay });
    expect(steps).toBe(expected.train_steps.length);
    expected.train_steps.forEach((want, step) => {
      const result = computeGradients(model, batch, labels, { training: true, keepLogits: true });
      // step 0 runs the reference weights; later steps carry level L's step-0 gradient noise
      const logitTolerance = step === 0 ? LOGIT_TOLERANCE : LEVEL_L_NOISE_FLOOR;
      for (const level of ['L', 'M', 'H'] as const) {
        const got = result.logits![`p_${level}`];
        expect(maxAbsDiff(got.dataSync(), flatten(want[`pred_${level}`])), `step ${step} pred_${level}`).toBeLessThanOrEqual(
          logitTolerance,
        );
      }
      for (const key of ['loss', 'loss_ce', 'loss_kl_L', 'loss_kl_M'] as const) {
        expect(Math.abs(result.losses[key] - want[key]), `step ${step} ${key}`).toBeLessThanOrEqual(LOSS_TOLERANCE);
      }
      if (want.params_without_grad !== undefined) expect(result.paramsWithoutGrad).toEqual(want.params_without_grad);
      if (step === 0) {
        expect([...result.grads.keys()].sort()).toEqual(Object.keys(expected.grads_step0).sort());
        // relative to the largest magnitude of the step's gradients; the level-H and level-M convs,
        // which level L does not reach, to SPEC's 1e-4 of their own largest magnitude
        const largest = Math.max(...Object.values(expected.grads_step0).map((g) => maxAbs(flatten(g))));
        for (const [name, grad] of result.grads) {
          const got = model.toReference(name, grad.dataSync() as Float32Array);
          const want0 = expected.grads_step0[name]!;
          expect(got.shape, name).toEqual(want0.shape);
          const error = maxAbsDiff(got.data, flatten(want0));
          expect(error / largest, `grad ${name}`).toBeLessThanOrEqual(LEVEL_L_NOISE_FLOOR);
          if (/\.conv(k?)w_[HM]\./.test(name)) {
            expect(error / maxAbs(flatten(want0)), `grad ${name} (own scale)`).toBeLessThanOrEqual(GRADIENT_RELATIVE_TOLERANCE);
          }
        }
      }
      optimizer.step(result.grads);
      tf.dispose([...result.grads.values(), ...Object.values(result.logits!)]);
    });
    const after = model.predict(batch.x_H, batch.m_H);
    expect(maxAbsDiff(after.dataSync(), flatten(expected.eval_logits_H_after_steps)), 'logits after steps').toBeLessThanOrEqual(
      LEVEL_L_NOISE_FLOOR,
    );
    after.dispose();
    const stateDict = model.stateDict();
    expect([...stateDict.keys()]).toEqual(Object.keys(expected.state_dict_after_steps));
    for (const [name, tensor] of stateDict) {
      const want = expected.state_dict_after_steps[name]!;
      expect(tensor.shape, name).toEqual(want.shape);
      expect(maxAbsDiff(tensor.data, flatten(want)), `state ${name}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    }
    optimizer.dispose();
  });
});
