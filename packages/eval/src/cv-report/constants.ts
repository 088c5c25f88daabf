export const CV_REPORT_FILES = {
  json: 'cv.json',
  markdown: 'report.md',
  foldsChart: 'folds.png',
  confusionChart: 'confusion_combined.png',
} as const;

export const CV_CHART_SIZES = {
  folds: { width: 900, height: 480 },
} as const;
