export type { CvFold, CvReportFile, CvReportInput, UarWar, WrittenCvReport } from './types.js';
export { CV_REPORT_FILES } from './constants.js';
export { readCvReport, summarizeFolds, writeCvReport } from './cv-report.js';
export { compareCvReports, compareReportPaths } from './compare.js';
