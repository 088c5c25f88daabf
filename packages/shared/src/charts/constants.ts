import type { ResolvedChartRenderOptions } from './types.js';

/** Defaults of the optional `ChartRenderOptions` keys. */
export const DEFAULT_CHART_RENDER_OPTIONS: Omit<ResolvedChartRenderOptions, 'width' | 'height'> = {
  background: 'white',
  fontFamily: 'DejaVu Sans',
};

/** Guards against a typo such as 72000 turning into a multi-gigabyte pixel buffer. */
export const MAX_CHART_SIDE_PX = 8192;

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Colours of the two runs, shared by every chart so forward/reversed read the same everywhere. */
export const RUN_COLORS = { forward: '#1f77b4', reversed: '#d62728' } as const;
