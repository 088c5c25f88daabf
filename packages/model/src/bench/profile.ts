/**
 * `pnpm bench model --profile`: where one training step and one inference batch spend their
 * time, kernel by kernel (tfjs's `tf.profile`, which times every kernel the engine runs), split
 * into the forward pass, the backward pass and the SGD update. What no kernel accounts for is the
 * engine's own work between kernels (tape, scopes, bookkeeping) and the host-side SGD loop.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from 'shared';
import { describeActiveBackend, selectBackend } from 'shared';
import { SGD } from '../optim/sgd.js';
import { hostBatchTensors } from '../parallel/host-batch.js';
import { createPthNet } from '../pthnet/pthnet.js';
import { computeGradients } from '../pthnet/train-step.js';
import type { PthNetConfig } from '../pthnet/types.js';
import { makeBenchBatch } from './bench.js';
import { PROFILE_REPEATS, PROFILE_SHAPE_ROWS } from './constants.js';
import type {
  BackendProfile,
  BenchOptions,
  PhaseTiming,
  ProfilePhase,
  ProfileReport,
  ProfileRow,
  ProfileRun,
  ProfileShapeRow,
} from './types.js';

interface Mark {
  phase: ProfilePhase;
  /** Kernels recorded when the phase ended. */
  kernels: number;
  at: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Kernels the engine has recorded so far in the running `tf.profile`. */
function recordedKernels(): number {
  return tf.engine().state.activeProfile.kernels.length;
}

/**
 * Turns a `tf.profile` result into per-phase timings and rows. Entries that are not registered
 * kernels of the backend (custom-gradient scopes, which run kernels of their own inside) are left
 * out, so that no time is counted twice.
 */
function summarise(info: Awaited<ReturnType<typeof tf.profile>>, marks: Mark[], start: number, unprofiledMs: number): ProfileRun {
  const backendName = tf.getBackend();
  const phaseOf = (index: number): ProfilePhase => {
    const mark = marks.find((m) => index < m.kernels);
    return (mark ?? (marks[marks.length - 1] as Mark)).phase;
  };
  const rows = new Map<string, ProfileRow>();
  const shapes = new Map<string, ProfileShapeRow>();
  const kernelMs = new Map<ProfilePhase, number>();
  const calls = new Map<ProfilePhase, number>();
  info.kernels.forEach((kernel, index) => {
    if (tf.getKernel(kernel.name, backendName) === undefined) return;
    const ms = typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
    const phase = phaseOf(index);
    kernelMs.set(phase, (kernelMs.get(phase) ?? 0) + ms);
    calls.set(phase, (calls.get(phase) ?? 0) + 1);
    const rowKey = `${kernel.name}|${phase}`;
    const row = rows.get(rowKey) ?? { kernel: kernel.name, phase, calls: 0, ms: 0, share: 0 };
    row.calls++;
    row.ms += ms;
    rows.set(rowKey, row);
    const inputs = kernel.inputShapes.map((s) => (s === undefined || s === null ? 'null' : `[${s.join(',')}]`)).join(' ');
    const shapeKey = `${rowKey}|${inputs}`;
    const shapeRow = shapes.get(shapeKey) ?? { kernel: kernel.name, phase, inputs, calls: 0, ms: 0 };
    shapeRow.calls++;
    shapeRow.ms += ms;
    shapes.set(shapeKey, shapeRow);
  });
  const profiledWallMs = (marks[marks.length - 1] as Mark).at - start;
  const phases: PhaseTiming[] = marks.map((mark, i) => {
    const wallMs = mark.at - (i === 0 ? start : (marks[i - 1] as Mark).at);
    const inKernels = kernelMs.get(mark.phase) ?? 0;
    return {
      phase: mark.phase,
      wallMs,
      kernelMs: inKernels,
      outsideKernelsMs: wallMs - inKernels,
      kernelCalls: calls.get(mark.phase) ?? 0,
    };
  });
  const sortedRows = [...rows.values()].sort((a, b) => b.ms - a.ms);
  for (const row of sortedRows) row.share = row.ms / profiledWallMs;
  return {
    wallMs: unprofiledMs,
    profiledWallMs,
    phases,
    rows: sortedRows,
    shapes: [...shapes.values()].sort((a, b) => b.ms - a.ms).slice(0, PROFILE_SHAPE_ROWS),
  };
}

async function profileBackend(backend: BackendName, options: BenchOptions, config: Partial<PthNetConfig>): Promise<BackendProfile> {
  const model = createPthNet(config, { seed: options.seed });
  const optimizer = new SGD(model.namedVariables(), { lr: 0.005, momentum: 0.9, weightDecay: 1e-4 });
  const data = makeBenchBatch(options.batch, model.config.n_in, options.seed + 1);
  const batch = hostBatchTensors(data.inputs);
  const labels = tf.tensor1d(data.labels, 'int32');
  // the same work as trainStep, with a mark after each phase
  const step = (mark: (phase: ProfilePhase) => void): void => {
    const { grads } = computeGradients(model, batch, labels, { training: true, onForward: () => mark('forward') });
    mark('backward');
    try {
      optimizer.step(grads);
    } finally {
      tf.dispose([...grads.values()]);
    }
    mark('optimizer');
  };
  const infer = (mark: (phase: ProfilePhase) => void): void => {
    const logits = model.predict(batch.x_H, batch.m_H);
    logits.dataSync();
    logits.dispose();
    mark('inference');
  };
  const run = async (fn: (mark: (phase: ProfilePhase) => void) => void): Promise<ProfileRun> => {
    fn(() => {});
    const walls: number[] = [];
    for (let i = 0; i < PROFILE_REPEATS; i++) {
      const start = performance.now();
      fn(() => {});
      walls.push(performance.now() - start);
    }
    const marks: Mark[] = [];
    let start = 0;
    const info = await tf.profile(() => {
      start = performance.now();
      fn((phase) => marks.push({ phase, kernels: recordedKernels(), at: performance.now() }));
    });
    return summarise(info, marks, start, median(walls));
  };
  try {
    const train = await run(step);
    const evaluate = await run(infer);
    return { backend, detail: describeActiveBackend(), train, eval: evaluate };
  } finally {
    tf.dispose([...Object.values(batch), labels]);
    optimizer.dispose();
    model.dispose();
  }
}

/**
 * Per-kernel profile of one training step and one inference batch of PTH-Net (the full FERV39k
 * config unless `config` says otherwise) in this thread, for each backend of `options.backends`
 * that loads, in its best configuration (on wasm: OpenBLAS where the addon is built).
 */
export async function runPthNetProfile(options: BenchOptions, config: Partial<PthNetConfig> = {}): Promise<ProfileReport> {
  const results: BackendProfile[] = [];
  const skipped: ProfileReport['skipped'] = [];
  for (const backend of options.backends) {
    try {
      await selectBackend(backend);
    } catch (error) {
      skipped.push({ backend, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    results.push(await profileBackend(backend, options, config));
  }
  const model = createPthNet(config);
  const parameters = model.parameterCount;
  model.dispose();
  return {
    benchmark: 'pthnet-profile',
    parameters,
    batch: options.batch,
    node: process.version,
    cpus: os.availableParallelism(),
    results,
    skipped,
  };
}

function phaseLine(run: ProfileRun): string {
  return run.phases
    .map(
      (p) =>
        `${p.phase} ${p.wallMs.toFixed(1)} ms (kernels ${p.kernelMs.toFixed(1)}, outside ${p.outsideKernelsMs.toFixed(1)}, ${p.kernelCalls} calls)`,
    )
    .join('; ');
}

function table(rows: ProfileRow[]): string {
  const lines = [`  ${'kernel'.padEnd(24)} ${'phase'.padEnd(10)} ${'calls'.padStart(6)} ${'ms'.padStart(9)} ${'share'.padStart(7)}`];
  for (const row of rows) {
    lines.push(
      `  ${row.kernel.padEnd(24)} ${row.phase.padEnd(10)} ${String(row.calls).padStart(6)} ${row.ms.toFixed(2).padStart(9)} ${`${(100 * row.share).toFixed(1)}%`.padStart(7)}`,
    );
  }
  return lines.join('\n');
}

/** The profile as text: per backend, the phase totals, then one row per kernel and phase, by time. */
export function formatProfile(report: ProfileReport): string {
  const out: string[] = [];
  for (const result of report.results) {
    for (const [label, run] of [
      ['training step', result.train],
      ['inference batch', result.eval],
    ] as const) {
      out.push(
        `${result.detail}, batch ${report.batch}, ${label}: ${run.wallMs.toFixed(1)} ms unprofiled (median of ${PROFILE_REPEATS}), ${run.profiledWallMs.toFixed(1)} ms profiled`,
      );
      out.push(`  ${phaseLine(run)}`);
      out.push(table(run.rows));
      out.push('');
    }
  }
  for (const { backend, reason } of report.skipped) out.push(`${backend}: skipped (${reason})`);
  return out.join('\n');
}
