import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Rng, TrainEpochRecord, TrainLogRecord, TrainStepRecord } from 'shared';
import {
  ARTIFACT_CATALOGUE,
  CheckpointError,
  ClassCountError,
  ConfigError,
  TrainingError,
  computeMetrics,
  createProgress,
  createRng,
  renderChartPng,
  trainingCurvesSpec,
  writeFileAtomic,
} from 'shared';
import type { LoadedPthNetCheckpoint, PthNet, PthNetConfig } from 'model';
import { MultiStepLR, loadPthNetCheckpoint, pthnetLevelLengths, savePthNetCheckpoint, validatePthNetConfig } from 'model';
import type { TrainingEngine } from './engine.js';
import { createTrainingEngine } from './engine.js';
import type { Batch } from '../sampling/types.js';
import { LEVELS } from '../sampling/constants.js';
import { makeBatch } from '../packed/make-batch.js';
import type { PackedDataset } from '../packed/types.js';
import type { TrainHyperparameters, TrainRunOptions, TrainRunResult, TrainingState } from './types.js';

/** Batch tensors in the network's layout; masks as 0/1 floats. */
function batchTensors(batch: Batch) {
  const x = (t: { data: Float32Array; shape: readonly number[] }) => tf.tensor3d(t.data, t.shape as [number, number, number]);
  const m = (t: { data: Uint8Array; shape: readonly number[] }) =>
    tf.tensor3d(Float32Array.from(t.data), t.shape as [number, number, number]);
  return {
    inputs: { x_H: x(batch.x_H), x_M: x(batch.x_M), x_L: x(batch.x_L), m_H: m(batch.m_H), m_M: m(batch.m_M), m_L: m(batch.m_L) },
    labels: tf.tensor1d(batch.y.data, 'int32'),
  };
}

/** Fisher-Yates with the run's generator, so shuffling resumes exactly. */
function permutation(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(0, i + 1);
    // biome-ignore lint/style/noNonNullAssertion: i < n and 0 <= j <= i, so both index order, which has n entries
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * The network to train. Without `--init`: `train.model` over the published config, with the
 * data's feature width and class count unless `train.model` sets them (then they are checked
 * against the data). With `--init`: the checkpoint's network, whose weights fix the
 * architecture, so a `train.model` key that disagrees with it is an error rather than ignored.
 */
function networkConfig(model: Record<string, unknown>, init: PthNetConfig | undefined, nIn: number, numClasses: number): PthNetConfig {
  if (init !== undefined) {
    for (const [key, value] of Object.entries(model)) {
      const fixed = (init as unknown as Record<string, unknown>)[key];
      if (JSON.stringify(value) !== JSON.stringify(fixed)) {
        throw new ConfigError(
          `train.model.${key}: expected ${JSON.stringify(fixed)} (the --init checkpoint's network, whose weights fix the architecture), got ${JSON.stringify(value)}`,
        );
      }
    }
    return init;
  }
  return validatePthNetConfig({ n_in: nIn, num_classes: numClasses, ...model }, { keyPrefix: 'train.model.' });
}

/**
 * Checks that an `--init` checkpoint's network can train on data of `width`-wide features and
 * `classes` classes, with `train.model` agreeing with it: what `trainRun` would find out only
 * after the run began. `ConfigError` naming `train.init` (or the `train.model` key).
 */
export function checkInitNetwork(hyper: TrainHyperparameters, init: LoadedPthNetCheckpoint, width: number, classes: number): void {
  const config = networkConfig(hyper.model, init.config, width, classes);
  if (config.n_in !== width || config.num_classes < classes) {
    throw new ConfigError(
      `train.init (--init ${hyper.init}): expected a network taking the packed datasets' ${width}-wide features and at least ${classes} classes, got one taking ${config.n_in}-wide features and ${config.num_classes} classes`,
    );
  }
}

/** Level-H logits of every clip of `dataset`, `[N, K]` row-major, sampled at the network's level length (`max_len`). */
export function predictDataset(model: PthNet, dataset: PackedDataset, batchSize: number): Float32Array {
  const K = model.config.num_classes;
  const levelLengths = pthnetLevelLengths(model.config);
  const out = new Float32Array(dataset.size * K);
  for (let start = 0; start < dataset.size; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    const batch = makeBatch(dataset, idx, { mode: 'eval', levelLengths });
    const { inputs, labels } = batchTensors(batch);
    const logits = model.predict(inputs.x_H, inputs.m_H);
    out.set(logits.dataSync(), start * K);
    tf.dispose([logits, labels, ...Object.values(inputs)]);
  }
  return out;
}

/** Level-H logits of every clip of `dataset` through a training engine. */
async function predictWith(engine: TrainingEngine, dataset: PackedDataset, batchSize: number): Promise<Float32Array> {
  const K = engine.config.num_classes;
  const levelLengths = pthnetLevelLengths(engine.config);
  const out = new Float32Array(dataset.size * K);
  for (let start = 0; start < dataset.size; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    out.set(await engine.predict(makeBatch(dataset, idx, { mode: 'eval', levelLengths })), start * K);
  }
  return out;
}

/**
 * The checkpoint a run resumes from and the training state saved in it: `last`, or, when a kill
 * left `last` half written, the previous complete save kept beside it (`last.prev`). Undefined
 * when there is none, or none that loads (then the run starts over, saying why).
 */
async function loadResumePoint(
  lastBase: string,
  label: string,
): Promise<{ checkpoint: LoadedPthNetCheckpoint; state: TrainingState } | undefined> {
  if (!existsSync(`${lastBase}.json`) && !existsSync(`${lastBase}.prev.json`)) return undefined;
  try {
    const checkpoint = await loadPthNetCheckpoint(existsSync(`${lastBase}.json`) ? `${lastBase}.json` : `${lastBase}.prev.json`);
    for (const warning of checkpoint.warnings) process.stderr.write(`[${label}] ${warning}\n`);
    const state = (checkpoint.provenance?.args as { trainingState?: TrainingState } | undefined)?.trainingState;
    return state === undefined ? undefined : { checkpoint, state };
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    process.stderr.write(`[${label}] cannot resume: ${error.message}\n`);
    return undefined;
  }
}

/**
 * Keeps the log lines of completed epochs only, so a resumed run's log reads as one run. Lines
 * are appended one step at a time, so a kill can leave a partial last line: it is dropped.
 */
async function truncateLog(logPath: string, epochsDone: number): Promise<TrainLogRecord[]> {
  if (!existsSync(logPath)) return [];
  const records: TrainLogRecord[] = [];
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as TrainLogRecord);
    } catch {
      // the line a kill cut short
    }
  }
  const kept = records.filter((r) => r.epoch < epochsDone);
  await writeFileAtomic(logPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return kept;
}

/**
 * Trains one PTH-Net (one direction) with the published recipe: SGD with momentum and weight
 * decay (PyTorch semantics), MultiStepLR, loss CE + KL(L) + KL(M), drop path, input noise.
 * After every epoch it scores the validation set and writes `last` (weights, momentum and
 * the training state) and, when WAR improves, `best`: a crash or Ctrl-C loses at most the
 * epoch in progress, and a resumed run continues exactly where `last` left off.
 */
export async function trainRun(options: TrainRunOptions): Promise<TrainRunResult> {
  const { hyper, train, validation, outDir } = options;
  const label = options.label ?? 'train';
  await mkdir(outDir, { recursive: true });
  const lastBase = join(outDir, 'last');
  const bestBase = join(outDir, 'best');
  const logPath = join(outDir, 'log.jsonl');
  const numClasses = options.classes ?? train.labelNames?.length ?? Math.max(...train.labels, ...validation.labels) + 1;

  if (LEVELS.some((level) => train.strides[level] !== validation.strides[level])) {
    throw new TrainingError(
      `${label}: expected the validation set ${validation.name} packed at the training set's strides ${JSON.stringify(train.strides)}, got ${JSON.stringify(validation.strides)}`,
    );
  }
  // Initial weights decide the architecture; `dropPath` is only the stochastic-depth rate
  // (a model built with drop path has its per-channel scales even when the rate is 0).
  const init = options.init ?? (hyper.init ? await loadPthNetCheckpoint(hyper.init) : undefined);
  const engine = await createTrainingEngine({
    config: networkConfig(hyper.model, init?.config, train.D, numClasses),
    seed: hyper.seed,
    optimizer: { lr: hyper.lr, momentum: hyper.momentum, weightDecay: hyper.weightDecay },
    workers: options.workers ?? 1,
    ...(options.parallelFromParameters !== undefined ? { parallelFromParameters: options.parallelFromParameters } : {}),
  });
  try {
    // A head wider than the label set would score classes no clip has; narrower cannot score them all.
    if (engine.config.num_classes !== numClasses) {
      throw new ClassCountError(
        `${label}: expected a network with ${numClasses} classes (those of the dataset), got ${engine.config.num_classes}${hyper.init ? ` (from --init ${hyper.init})` : ''}`,
        { expected: numClasses, got: engine.config.num_classes },
      );
    }
    if (engine.config.n_in !== train.D) {
      throw new TrainingError(
        `${label}: the network takes ${engine.config.n_in}-wide features, got ${train.D}-wide features${hyper.init ? ` (from --init ${hyper.init})` : ''}`,
      );
    }
    process.stderr.write(`[${label}] training on ${engine.description}\n`);
    // Every level is sampled to the network's length: max_len, max_len / 2, max_len / 4.
    const levelLengths = pthnetLevelLengths(engine.config);
    const scheduler = new MultiStepLR(engine, { baseLr: hyper.lr, milestones: hyper.milestones, gamma: hyper.gamma });
    let rng = createRng(hyper.seed);
    let state: TrainingState = { runKey: options.runKey, epoch: 0, step: 0, rng: rng.getState(), bestWar: -1, bestEpoch: -1 };

    const resumeMode = options.resume ?? 'auto';
    const saved = resumeMode === 'never' ? undefined : await loadResumePoint(lastBase, label);
    // a `last` of another head (the dataset's class count changed since) cannot be continued
    const resumePoint = saved?.checkpoint.config.num_classes === engine.config.num_classes ? saved : undefined;
    if (saved !== undefined && resumePoint === undefined) {
      process.stderr.write(
        `[${label}] starting over: the last checkpoint has ${saved.checkpoint.config.num_classes} classes, the dataset ${numClasses}\n`,
      );
    }
    const previous = resumePoint?.state;
    if (resumeMode === 'require' && (previous === undefined || previous.runKey !== options.runKey)) {
      throw new TrainingError(
        previous === undefined
          ? `--resume: expected a last checkpoint in ${outDir}, got none`
          : `--resume: the last checkpoint in ${outDir} was trained with other settings or data (run key differs); run without --resume to start over`,
      );
    }
    let history: TrainLogRecord[] = [];
    if (resumePoint !== undefined && previous !== undefined && previous.runKey === options.runKey) {
      const ckpt = resumePoint.checkpoint;
      await engine.loadStateDict(ckpt.stateDict);
      if (ckpt.momentum) await engine.loadMomentum(ckpt.momentum);
      engine.stepCount = previous.step;
      for (let e = 0; e < previous.epoch; e++) scheduler.step();
      rng = createRng(previous.rng);
      state = previous;
      history = await truncateLog(logPath, previous.epoch);
    } else {
      if (init) await engine.loadStateDict(init.stateDict);
      await writeFileAtomic(logPath, '');
    }

    const epochs: TrainEpochRecord[] = history.filter((r): r is TrainEpochRecord => r.type === 'epoch');
    const resumedFromEpoch = state.epoch;
    const saveCheckpoint = async (base: string, war: number, uar: number) => {
      const [stateDict, momentum] = await Promise.all([engine.stateDict(), engine.momentum()]);
      // keepPrevious: a kill between the set's files leaves the previous save loadable (`<base>.prev`)
      await savePthNetCheckpoint(
        base,
        {
          stateDict,
          config: engine.config,
          epoch: state.epoch,
          metrics: { war, uar },
          provenance: {
            codeVersion: ARTIFACT_CATALOGUE['training-run'].codeVersion,
            source: 'pthnet train',
            // What predict checks its windows' stride against.
            featureStrides: train.strides,
            args: { ...options.provenance, trainingState: state },
          },
          momentum,
          optimizer: {
            type: 'SGD',
            lr: engine.lr,
            momentum: hyper.momentum,
            weight_decay: hyper.weightDecay,
            dampening: 0,
            nesterov: false,
          } as never,
        },
        { keepPrevious: true },
      );
    };

    let interrupted = false;
    const stepsPerEpoch = Math.ceil(train.size / hyper.batchSize);
    for (let epoch = state.epoch; epoch < hyper.epochs; epoch++) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const started = performance.now();
      const order = hyper.shuffle ? permutation(train.size, rng) : Array.from({ length: train.size }, (_, i) => i);
      const progress = createProgress({ label: `${label} epoch ${epoch + 1}/${hyper.epochs}`, total: train.size, unit: 'clips' });
      const stepLines: string[] = [];
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const idx = order.slice(s * hyper.batchSize, (s + 1) * hyper.batchSize);
        const batch = makeBatch(train, idx, { mode: 'train', rng, noise: hyper.noise, levelLengths });
        const losses = await engine.trainStep(batch, { dropPathProb: hyper.dropPath, dropPathRng: () => rng.nextFloat() });
        if (!Number.isFinite(losses.loss)) {
          progress.stop();
          const keep = existsSync(`${lastBase}.safetensors`)
            ? `the last good checkpoint is ${lastBase}.safetensors (epoch ${state.epoch})`
            : 'no epoch had completed, so there is no checkpoint';
          throw new TrainingError(
            `${label}: loss became ${losses.loss} at epoch ${epoch + 1}, step ${s + 1} (lr ${engine.lr}); stopped. ${keep}. Try a lower --lr.`,
          );
        }
        state.step += 1;
        lossSum += losses.loss * idx.length;
        const record: TrainStepRecord = { type: 'step', epoch, step: state.step, lr: engine.lr, ...losses };
        stepLines.push(JSON.stringify(record));
        // written each step, so the log follows a long epoch (a resume drops the epoch's lines again)
        await appendFile(logPath, `${stepLines[stepLines.length - 1]}\n`);
        progress.tick(idx.length, `loss ${losses.loss.toFixed(4)}`);
      }
      progress.stop();
      scheduler.step();

      const logits = await predictWith(engine, validation, hyper.batchSize);
      const metrics = computeMetrics({ data: logits, shape: [validation.size, numClasses] }, validation.labels);
      state = { ...state, epoch: epoch + 1, rng: rng.getState() };
      const improved = metrics.war > state.bestWar;
      if (improved) state = { ...state, bestWar: metrics.war, bestEpoch: epoch + 1 };
      // best first, then last: `last` carries the state that says which best is current
      if (improved) await saveCheckpoint(bestBase, metrics.war, metrics.uar);
      await saveCheckpoint(lastBase, metrics.war, metrics.uar);
      const epochRecord: TrainEpochRecord = {
        type: 'epoch',
        epoch,
        war: metrics.war,
        uar: metrics.uar,
        loss: lossSum / train.size,
        time_s: (performance.now() - started) / 1000,
        lr_next: engine.lr,
        best: improved,
      };
      await appendFile(logPath, `${JSON.stringify(epochRecord)}\n`);
      epochs.push(epochRecord);
      history.push(...stepLines.map((l) => JSON.parse(l) as TrainLogRecord), epochRecord);
      await writeFile(
        join(outDir, 'curves.png'),
        await renderChartPng(trainingCurvesSpec({ forward: history }, label), { width: 900, height: 360 }),
      );
      process.stderr.write(
        `[${label}] epoch ${epoch + 1}/${hyper.epochs}: loss ${epochRecord.loss.toFixed(4)}, WAR ${(100 * metrics.war).toFixed(2)}, UAR ${(100 * metrics.uar).toFixed(2)}${improved ? ' (best)' : ''}\n`,
      );
      options.onEpoch?.(epochRecord);
    }
    return {
      bestPath: `${bestBase}.safetensors`,
      lastPath: `${lastBase}.safetensors`,
      bestEpoch: state.bestEpoch,
      bestWar: state.bestWar,
      epochs,
      resumedFromEpoch,
      interrupted,
      backend: engine.description,
    };
  } finally {
    await engine.dispose();
  }
}
