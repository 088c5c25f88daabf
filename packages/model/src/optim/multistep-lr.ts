import { ConfigError } from 'shared';
import { DEFAULT_MULTISTEP_GAMMA } from './constants.js';
import type { MultiStepLrOptions, MultiStepLrState } from './types.js';

/** The part of an optimizer a scheduler drives. */
export interface HasLearningRate {
  lr: number;
}

/**
 * PyTorch's MultiStepLR: after `step()` has been called `e` times (once per epoch), the rate is
 * `baseLr * gamma^(number of milestones <= e)`.
 */
export class MultiStepLR {
  readonly baseLr: number;
  readonly milestones: readonly number[];
  readonly gamma: number;
  private epoch = 0;

  constructor(
    private readonly optimizer: HasLearningRate,
    options: MultiStepLrOptions,
  ) {
    if (typeof options.baseLr !== 'number' || !(options.baseLr >= 0)) {
      throw new ConfigError(`lr_scheduler.baseLr: expected a number >= 0, got ${JSON.stringify(options.baseLr)}`);
    }
    const milestones = options.milestones;
    // biome-ignore lint/style/noNonNullAssertion: milestones[i - 1] is read only when i > 0, so it is an element of the array
    if (!Array.isArray(milestones) || milestones.some((m, i) => !Number.isInteger(m) || m < 0 || (i > 0 && m <= milestones[i - 1]!))) {
      throw new ConfigError(`lr_scheduler.milestones: expected increasing non-negative integers, got ${JSON.stringify(milestones)}`);
    }
    const gamma = options.gamma ?? DEFAULT_MULTISTEP_GAMMA;
    if (typeof gamma !== 'number' || !(gamma > 0)) {
      throw new ConfigError(`lr_scheduler.gamma: expected a number > 0, got ${JSON.stringify(gamma)}`);
    }
    this.baseLr = options.baseLr;
    this.milestones = [...milestones];
    this.gamma = gamma;
    this.optimizer.lr = this.lrAt(0);
  }

  /** The rate in effect after `epoch` calls of `step()`. */
  lrAt(epoch: number): number {
    const passed = this.milestones.filter((m) => m <= epoch).length;
    return this.baseLr * this.gamma ** passed;
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  /** Ends an epoch: advances the count and sets the optimizer's rate. Returns the new rate. */
  step(): number {
    this.epoch += 1;
    this.optimizer.lr = this.lrAt(this.epoch);
    return this.optimizer.lr;
  }

  state(): MultiStepLrState {
    return { lastEpoch: this.epoch, baseLr: this.baseLr, milestones: [...this.milestones], gamma: this.gamma };
  }

  /** Resumes from a saved state (its milestones and gamma must match this scheduler's). */
  loadState(state: MultiStepLrState): void {
    if (!Number.isInteger(state.lastEpoch) || state.lastEpoch < 0) {
      throw new ConfigError(`lr_scheduler.lastEpoch: expected an integer >= 0, got ${JSON.stringify(state.lastEpoch)}`);
    }
    if (
      JSON.stringify(state.milestones) !== JSON.stringify(this.milestones) ||
      state.gamma !== this.gamma ||
      state.baseLr !== this.baseLr
    ) {
      throw new ConfigError(
        `lr_scheduler: expected milestones ${JSON.stringify(this.milestones)}, gamma ${this.gamma}, baseLr ${this.baseLr}, ` +
          `got ${JSON.stringify(state.milestones)}, ${state.gamma}, ${state.baseLr}`,
      );
    }
    this.epoch = state.lastEpoch;
    this.optimizer.lr = this.lrAt(this.epoch);
  }
}
