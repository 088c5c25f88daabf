export * from './types.js';
export { DEFAULT_CHART_RENDER_OPTIONS, RUN_COLORS } from './constants.js';
export { renderChartPng, readPngSize, validateChartRenderOptions } from './render.js';
export { trainingCurvePoints, trainingCurvesSpec, parseTrainLog } from './training-curves.js';
