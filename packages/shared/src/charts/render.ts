import { ConfigError, InputError, PthnetError } from '../errors/index.js';
import { DEFAULT_CHART_RENDER_OPTIONS, MAX_CHART_SIDE_PX, PNG_SIGNATURE } from './constants.js';
import { loadChartLibraries } from './libraries.js';
import type { ChartRenderOptions, PngSize, ResolvedChartRenderOptions, VegaLiteSpec } from './types.js';

/** Checks `options` and fills the defaults; throws `ConfigError` naming the bad key. */
export function validateChartRenderOptions(options: ChartRenderOptions): ResolvedChartRenderOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`chart options: expected an object with width and height, got ${describe(options)}`);
  }
  for (const key of ['width', 'height'] as const) {
    const value: unknown = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CHART_SIDE_PX) {
      throw new ConfigError(
        `chart options.${key}: expected an integer number of pixels in 1..${MAX_CHART_SIDE_PX}, got ${describe(value)}`,
      );
    }
  }
  const resolved = { ...DEFAULT_CHART_RENDER_OPTIONS, ...stripUndefined(options) };
  for (const key of ['background', 'fontFamily'] as const) {
    const value: unknown = resolved[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigError(`chart options.${key}: expected a non-empty string, got ${describe(value)}`);
    }
  }
  return resolved as ResolvedChartRenderOptions;
}

/**
 * Renders a Vega-Lite spec to a PNG of exactly `width x height` pixels, headless: Vega-Lite
 * compiles the spec, a Vega view with no renderer writes SVG, and resvg rasterises it with the
 * system fonts. The chart is scaled to fit (aspect ratio kept, centred on the background), so
 * the spec's own width/height set the proportions and the options set the pixel size.
 */
export async function renderChartPng(spec: VegaLiteSpec, options: ChartRenderOptions): Promise<Buffer> {
  const resolved = validateChartRenderOptions(options);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ConfigError(`chart spec: expected a Vega-Lite spec object, got ${describe(spec)}`);
  }
  const { vegaLite, vega, resvg } = await loadChartLibraries();

  const userConfig = typeof spec.config === 'object' && spec.config !== null ? spec.config : {};
  const styledSpec = {
    ...spec,
    // Vega measures text to lay out axes and legends; it must measure with the font resvg draws.
    config: { font: resolved.fontFamily, background: resolved.background, ...userConfig },
  };

  let svg: string;
  try {
    const vegaSpec = vegaLite.compile(styledSpec).spec;
    const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', logLevel: vega.Error });
    try {
      svg = await view.toSVG();
    } finally {
      view.finalize();
    }
  } catch (error) {
    throw new ConfigError(`chart spec: Vega-Lite could not render it: ${errorMessage(error)}`, { cause: error });
  }

  const framed = frameSvg(svg, resolved);
  try {
    return new resvg.Resvg(framed, {
      background: resolved.background,
      fitTo: { mode: 'original' },
      font: {
        loadSystemFonts: true,
        defaultFontFamily: resolved.fontFamily,
        sansSerifFamily: resolved.fontFamily,
      },
    })
      .render()
      .asPng();
  } catch (error) {
    throw new PthnetError('CHART', `chart: resvg could not rasterise the SVG: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Reads the pixel size of a PNG from its IHDR chunk; throws `InputError` if it is not a PNG. */
export function readPngSize(png: Uint8Array): PngSize {
  const isPng = png.length >= 24 && PNG_SIGNATURE.every((byte, index) => png[index] === byte);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (!isPng || String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') {
    throw new InputError(`expected PNG bytes (signature and IHDR chunk), got ${png.length} bytes that are not a PNG`);
  }
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Nests Vega's SVG in an outer SVG of the requested size: the inner viewBox keeps the chart's
 * coordinates and `preserveAspectRatio` scales it to fit, so the PNG size is exact.
 */
function frameSvg(svg: string, options: ResolvedChartRenderOptions): string {
  const rootTag = /^\s*<svg\b([^>]*)>/.exec(svg);
  if (rootTag === null || rootTag[1] === undefined) {
    throw new PthnetError('CHART', `chart: expected Vega to write an <svg> document, got ${svg.slice(0, 60)}`);
  }
  const attributes = rootTag[1];
  const viewBox =
    /\bviewBox="([^"]+)"/.exec(attributes)?.[1] ??
    `0 0 ${/\bwidth="([\d.]+)"/.exec(attributes)?.[1] ?? options.width} ${/\bheight="([\d.]+)"/.exec(attributes)?.[1] ?? options.height}`;
  const body = svg.slice(rootTag[0].length);
  const { width, height } = options;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="${width}" height="${height}" fill="${escapeAttribute(options.background)}"/>` +
    `<svg x="0" y="0" width="${width}" height="${height}" viewBox="${viewBox}" preserveAspectRatio="xMidYMid meet">` +
    body +
    `</svg>`
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
