// biome-ignore-all lint/style/noNonNullAssertion: colour channels c < 3 index three-element RGB tuples, drift holds the two axes built just above its use, and SCENE_STYLES is a non-empty constant; noUncheckedIndexedAccess cannot see that through a numeric index
import { RAW_ASPECT, RENDER } from './constants.js';
import { demoClipSignal } from './pattern.js';
import type { Rng } from 'shared';
import { createDemoSetRng, deriveSeed } from 'shared';
import type { DemoClipPlan, DemoView } from './types.js';

export interface FrameSize {
  width: number;
  height: number;
}

/** Frames of one view, RGB24 row-major, frame after frame (what ffmpeg's `rawvideo rgb24` reads). */
export interface RenderedView {
  size: FrameSize;
  frames: number;
  rgb: Uint8Array;
}

type Rgb = [number, number, number];

/** A piece of background clutter drifting at constant speed, wrapping around a margin beyond the frame. */
interface ClutterShape {
  round: boolean;
  x: number;
  y: number;
  vx: number;
  vy: number;
  halfWidth: number;
  halfHeight: number;
  colour: Rgb;
}

/** Everything about a clip's world, frame by frame, in world units (1 = the raw frame's height). */
interface ClipWorld {
  background: Background;
  clutter: ClutterShape[];
  faceX: Float64Array;
  faceY: Float64Array;
  faceRadius: Float64Array;
  /** Face colour per frame, 3 values a frame. */
  faceColour: Float64Array;
  baseRadius: number;
  /** Illumination gain per frame. */
  gain: Float64Array;
}

/** Maps pixels of one view to world coordinates: pixel (px, py) has its centre at x0 + (px + 0.5) * unit. */
interface ViewWindow {
  x0: number;
  y0: number;
  unit: number;
  width: number;
  height: number;
}

const EYE_COLOUR: Rgb = [38, 28, 30];
const MOUTH_COLOUR: Rgb = [96, 40, 44];
const CLUTTER_MARGIN = 0.4;

/**
 * A scene's background: its mean colour plus a zero-mean pattern along one colour direction.
 * Scenes differ in layout (a vertical gradient, stripes, blobs), not in mean colour: the
 * random-weight backbone mostly sees a frame's mean colour, so a per-clip mean that varied
 * as much as the face signal would drown the class in clip-to-clip differences.
 */
interface Background {
  pattern: 'gradient' | 'stripes' | 'blobs';
  mean: Rgb;
  contrast: Rgb;
  frequencyX: number;
  frequencyY: number;
  phaseX: number;
  phaseY: number;
}

/** Per scene (`DEMO_SCENES` order): background layout and the share of round clutter. */
const SCENE_STYLES: ReadonlyArray<{ pattern: Background['pattern']; round: number }> = [
  { pattern: 'gradient', round: 0.2 },
  { pattern: 'stripes', round: 0.1 },
  { pattern: 'blobs', round: 0.8 },
];

function evenRound(value: number): number {
  return 2 * Math.round(value / 2);
}

/** Pixel size of a view: face crops are `size` square, raw frames `size` high and 4:3. */
export function demoFrameSize(view: DemoView, size: number): FrameSize {
  return view === 'face' ? { width: size, height: size } : { width: evenRound(size * RAW_ASPECT), height: size };
}

function jitterColour(rng: Rng, colour: ArrayLike<number>, spread: number): Rgb {
  return [0, 1, 2].map((c) => (colour[c] ?? 0) + rng.uniform(-spread, spread)) as Rgb;
}

function buildWorld(plan: DemoClipPlan): ClipWorld {
  const rng = createDemoSetRng(deriveSeed(plan.renderSeed, 0));
  const style = SCENE_STYLES[plan.sceneIndex % SCENE_STYLES.length] ?? SCENE_STYLES[0]!;
  const n = plan.frames;

  const background: Background = {
    pattern: style.pattern,
    mean: jitterColour(rng, RENDER.backgroundMean, RENDER.backgroundMeanJitter),
    contrast: jitterColour(rng, [0, 0, 0], RENDER.backgroundContrast),
    frequencyX: rng.uniform(1.5, 4),
    frequencyY: rng.uniform(1.5, 4),
    phaseX: rng.uniform(0, 2 * Math.PI),
    phaseY: rng.uniform(0, 2 * Math.PI),
  };
  const clutter: ClutterShape[] = [];
  const clutterCount = RENDER.clutterCount[plan.sceneIndex % RENDER.clutterCount.length] ?? 6;
  for (let i = 0; i < clutterCount; i++) {
    clutter.push({
      round: rng.nextFloat() < style.round,
      x: rng.uniform(-CLUTTER_MARGIN, RAW_ASPECT + CLUTTER_MARGIN),
      y: rng.uniform(-CLUTTER_MARGIN, 1 + CLUTTER_MARGIN),
      vx: rng.uniform(-RENDER.clutterSpeed, RENDER.clutterSpeed),
      vy: rng.uniform(-RENDER.clutterSpeed, RENDER.clutterSpeed) * 0.5,
      halfWidth: rng.uniform(RENDER.clutterSize[0], RENDER.clutterSize[1]) / 2,
      halfHeight: rng.uniform(RENDER.clutterSize[0], RENDER.clutterSize[1]) / 2,
      // Centred on the background mean, so clutter moves things around without shifting the frame's average colour much.
      colour: jitterColour(rng, background.mean, RENDER.clutterContrast),
    });
  }

  const amplitude = rng.uniform(RENDER.amplitudeRange[0], RENDER.amplitudeRange[1]);
  const brightness = rng.uniform(-RENDER.faceBrightness, RENDER.faceBrightness);
  const tintOffset = rng.uniform(-RENDER.baseOffset, RENDER.baseOffset);
  const base = [0, 1, 2].map((c) => RENDER.skin[c]! + brightness + tintOffset * RENDER.tintAxis[c]!);
  const baseRadius = rng.uniform(RENDER.faceRadius[0], RENDER.faceRadius[1]);
  const centreX = RAW_ASPECT / 2 + rng.uniform(-RENDER.faceOffset, RENDER.faceOffset);
  const centreY = 0.5 + rng.uniform(-RENDER.faceOffset, RENDER.faceOffset);
  // Head motion: slow sways with periods of 25 to 100 frames, unrelated to the class.
  const drift = [0, 1].map(() => ({ frequency: rng.uniform(0.01, 0.04), phase: rng.uniform(0, 2 * Math.PI) }));
  const gainBase = rng.uniform(RENDER.gainRange[0], RENDER.gainRange[1]);

  const signal = demoClipSignal(plan.label, n, plan.pattern);
  const faceX = new Float64Array(n);
  const faceY = new Float64Array(n);
  const faceRadius = new Float64Array(n);
  const faceColour = new Float64Array(n * 3);
  const gain = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    const tint = amplitude * ((signal.tint[f] ?? 0) + RENDER.signalJitter * rng.nextGaussian());
    const growth = amplitude * ((signal.growth[f] ?? 0) + RENDER.signalJitter * rng.nextGaussian());
    faceX[f] = centreX + RENDER.faceDrift * Math.sin(2 * Math.PI * drift[0]!.frequency * f + drift[0]!.phase);
    faceY[f] = centreY + RENDER.faceDrift * Math.sin(2 * Math.PI * drift[1]!.frequency * f + drift[1]!.phase);
    // Growth moves the face's area (not its radius) linearly, so a clip's mean face area, and
    // with it the frame's mean colour, is the same whatever its class. It leaves the face colour
    // alone: colour changing together with area would shift the mean colour of growing classes.
    faceRadius[f] = baseRadius * Math.sqrt(Math.max(RENDER.minimumArea, 1 + RENDER.growthArea * growth));
    for (let c = 0; c < 3; c++) faceColour[f * 3 + c] = base[c]! + tint * RENDER.tintAxis[c]!;
    gain[f] = gainBase * (1 + RENDER.flicker * rng.nextGaussian());
  }

  return { background, clutter, faceX, faceY, faceRadius, faceColour, baseRadius, gain };
}

function wrap(value: number, low: number, high: number): number {
  const span = high - low;
  return low + ((((value - low) % span) + span) % span);
}

/** Pixel index range whose centres fall in [low, high] world units along one axis. */
function pixelRange(low: number, high: number, origin: number, unit: number, count: number): [number, number] {
  const first = Math.max(0, Math.ceil((low - origin) / unit - 0.5));
  const last = Math.min(count - 1, Math.floor((high - origin) / unit - 0.5));
  return [first, last];
}

/** Paints an ellipse with an anti-aliased edge about one pixel wide (so size changes are smooth, not 1-pixel jumps). */
function paintEllipse(
  canvas: Float32Array,
  view: ViewWindow,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  colour: ArrayLike<number>,
): void {
  const [xFirst, xLast] = pixelRange(cx - rx - view.unit, cx + rx + view.unit, view.x0, view.unit, view.width);
  const [yFirst, yLast] = pixelRange(cy - ry - view.unit, cy + ry + view.unit, view.y0, view.unit, view.height);
  const edge = view.unit / Math.min(rx, ry);
  for (let py = yFirst; py <= yLast; py++) {
    const dy = (view.y0 + (py + 0.5) * view.unit - cy) / ry;
    for (let px = xFirst; px <= xLast; px++) {
      const dx = (view.x0 + (px + 0.5) * view.unit - cx) / rx;
      const coverage = Math.min(1, Math.max(0, (1 - Math.sqrt(dx * dx + dy * dy)) / edge + 0.5));
      if (coverage <= 0) continue;
      const i = (py * view.width + px) * 3;
      for (let c = 0; c < 3; c++) canvas[i + c] = (canvas[i + c] ?? 0) * (1 - coverage) + (colour[c] ?? 0) * coverage;
    }
  }
}

function paintRect(canvas: Float32Array, view: ViewWindow, shape: ClutterShape, x: number, y: number): void {
  const [xFirst, xLast] = pixelRange(x - shape.halfWidth, x + shape.halfWidth, view.x0, view.unit, view.width);
  const [yFirst, yLast] = pixelRange(y - shape.halfHeight, y + shape.halfHeight, view.y0, view.unit, view.height);
  for (let py = yFirst; py <= yLast; py++) {
    for (let px = xFirst; px <= xLast; px++) canvas.set(shape.colour, (py * view.width + px) * 3);
  }
}

function paintFrame(canvas: Float32Array, world: ClipWorld, view: ViewWindow, frame: number): void {
  const bg = world.background;
  for (let py = 0; py < view.height; py++) {
    const y = view.y0 + (py + 0.5) * view.unit;
    for (let px = 0; px < view.width; px++) {
      const x = view.x0 + (px + 0.5) * view.unit;
      const level =
        bg.pattern === 'gradient'
          ? 2 * Math.min(1, Math.max(0, y)) - 1
          : bg.pattern === 'stripes'
            ? Math.sin(2 * Math.PI * bg.frequencyX * x + bg.phaseX)
            : Math.sin(2 * Math.PI * bg.frequencyX * x + bg.phaseX) * Math.sin(2 * Math.PI * bg.frequencyY * y + bg.phaseY);
      const i = (py * view.width + px) * 3;
      for (let c = 0; c < 3; c++) canvas[i + c] = bg.mean[c]! + level * bg.contrast[c]!;
    }
  }
  for (const shape of world.clutter) {
    const x = wrap(shape.x + shape.vx * frame, -CLUTTER_MARGIN, RAW_ASPECT + CLUTTER_MARGIN);
    const y = wrap(shape.y + shape.vy * frame, -CLUTTER_MARGIN, 1 + CLUTTER_MARGIN);
    if (shape.round) paintEllipse(canvas, view, x, y, shape.halfWidth, shape.halfHeight, shape.colour);
    else paintRect(canvas, view, shape, x, y);
  }
  const cx = world.faceX[frame] ?? 0;
  const cy = world.faceY[frame] ?? 0;
  const ry = world.faceRadius[frame] ?? 0;
  const rx = ry * RENDER.faceAspect;
  paintEllipse(canvas, view, cx, cy, rx, ry, world.faceColour.subarray(frame * 3, frame * 3 + 3));
  for (const side of [-1, 1]) paintEllipse(canvas, view, cx + side * 0.36 * rx, cy - 0.22 * ry, 0.13 * rx, 0.11 * ry, EYE_COLOUR);
  paintEllipse(canvas, view, cx, cy + 0.45 * ry, 0.38 * rx, 0.09 * ry, MOUTH_COLOUR);
}

function viewWindow(world: ClipWorld, view: DemoView, size: number, frame: number): ViewWindow {
  const { width, height } = demoFrameSize(view, size);
  if (view === 'raw') return { x0: 0, y0: 0, unit: 1 / height, width, height };
  // The crop follows the head like a face detector's box would, but keeps a fixed size per
  // clip: a box that scaled with the face would hide the class signal carried by its growth.
  const side = RENDER.faceCropRadii * world.baseRadius;
  return { x0: (world.faceX[frame] ?? 0) - side / 2, y0: (world.faceY[frame] ?? 0) - side / 2, unit: side / size, width, height };
}

/**
 * Renders both views of a clip: a "face" (an ellipse with eyes and mouth) whose colour and size
 * follow the class signal, over a scene-styled gradient with drifting clutter, with per-clip
 * illumination, per-frame flicker and per-pixel noise. Deterministic in `plan`.
 */
export function renderDemoClip(plan: DemoClipPlan, size: number): Record<DemoView, RenderedView> {
  const world = buildWorld(plan);
  const render = (view: DemoView, stream: number): RenderedView => {
    const frameSize = demoFrameSize(view, size);
    const pixels = frameSize.width * frameSize.height;
    const rgb = new Uint8Array(plan.frames * pixels * 3);
    const canvas = new Float32Array(pixels * 3);
    const noise = createDemoSetRng(deriveSeed(plan.renderSeed, stream));
    const noiseLevels = 2 * RENDER.pixelNoise + 1;
    for (let f = 0; f < plan.frames; f++) {
      paintFrame(canvas, world, viewWindow(world, view, size, f), f);
      const gain = world.gain[f] ?? 1;
      const offset = f * pixels * 3;
      for (let p = 0; p < pixels; p++) {
        const bits = noise.nextUint32();
        for (let c = 0; c < 3; c++) {
          // One 32-bit draw gives the noise of all three channels, one byte each.
          const level = (((bits >>> (8 * c)) & 0xff) * noiseLevels) >>> 8;
          const value = (canvas[p * 3 + c] ?? 0) * gain + level - RENDER.pixelNoise;
          rgb[offset + p * 3 + c] = Math.min(255, Math.max(0, Math.round(value)));
        }
      }
    }
    return { size: frameSize, frames: plan.frames, rgb };
  };
  return { raw: render('raw', 1), face: render('face', 2) };
}
