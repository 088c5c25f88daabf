/**
 * `cover` (default): enough windows that the last one ends on the last frame, so no frame is
 * left out; this reproduces every row count of the FERV39k reference feature lists.
 * `inside`: the VideoMAE v2 temporal-detection script's rule (the DFEW lists follow it): only
 * windows that start on a multiple of the stride and fit inside the clip, so the tail may go unseen.
 */
export type WindowRule = 'cover' | 'inside';

/** Which way the clip is played: the reversed model sees the same windows over the reversed frames. */
export type Direction = 'forward' | 'reversed';

/** One backbone pass: a distinct tuple of frame indices (into the clip as stored on disk). */
export interface PlannedWindow {
  /** Index into `WindowPlan.windows`; ids ascend with `start`. */
  id: number;
  /** Position of the window's first frame in the directed frame order. */
  start: number;
  /** The `windowLength` frame indices of the original (forward) clip, in the order fed to the backbone. */
  frames: number[];
}

export interface StrideWindows {
  stride: number;
  /** One id per output row of this stride's feature file, in row order. */
  windowIds: number[];
}

export interface WindowPlan {
  frameCount: number;
  direction: Direction;
  rule: WindowRule;
  windowLength: number;
  /** The distinct windows: each is one backbone pass, shared by every stride that uses it. */
  windows: PlannedWindow[];
  /** For each requested stride (in the order given), the windows behind its rows. */
  strides: StrideWindows[];
  /** Backbone passes if every stride computed its own windows (the sum of the row counts). */
  passesWithoutSharing: number;
  /** `passesWithoutSharing - windows.length`. */
  passesSaved: number;
}
