import { PthnetError } from '../errors/index.js';

// The chart libraries are loaded lazily so that importing `shared` stays cheap for stages that
// never draw a chart. They are typed structurally here: only what `renderChartPng` calls.

interface VegaLiteCompiler {
  compile(spec: unknown): { spec: unknown };
}

interface VegaViewInstance {
  toSVG(scaleFactor?: number): Promise<string>;
  finalize(): unknown;
}

interface VegaRuntime {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none'; logLevel?: number }) => VegaViewInstance;
  Error: number;
}

interface ResvgRenderer {
  Resvg: new (
    svg: string,
    options: {
      background?: string;
      fitTo?: { mode: 'original' };
      font?: {
        loadSystemFonts?: boolean;
        defaultFontFamily?: string;
        sansSerifFamily?: string;
      };
    },
  ) => { render(): { asPng(): Buffer } };
}

export interface ChartLibraries {
  vegaLite: VegaLiteCompiler;
  vega: VegaRuntime;
  resvg: ResvgRenderer;
}

let loaded: Promise<ChartLibraries> | undefined;

/** Loads vega, vega-lite and @resvg/resvg-js once per process. */
export function loadChartLibraries(): Promise<ChartLibraries> {
  loaded ??= (async () => {
    const [vegaLite, vega, resvg] = await Promise.all([
      importPackage('vega-lite'),
      importPackage('vega'),
      importPackage('@resvg/resvg-js'),
    ]);
    return {
      vegaLite: pickNamespace<VegaLiteCompiler>(vegaLite, 'compile'),
      vega: pickNamespace<VegaRuntime>(vega, 'View'),
      resvg: pickNamespace<ResvgRenderer>(resvg, 'Resvg'),
    };
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/** ESM namespaces of CommonJS packages put the exports under `default`. */
function pickNamespace<T>(namespace: Record<string, unknown>, member: string): T {
  if (member in namespace) return namespace as T;
  return namespace.default as T;
}

async function importPackage(specifier: string): Promise<Record<string, unknown>> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch (cause) {
    throw new PthnetError('CHARTS', `cannot load ${specifier} (a dependency of 'shared'; run pnpm install)`, { cause });
  }
}
