export * from './constants.js';
export * from './schema.js';
export * from './validate.js';
export { formatByteSize, parseByteSize } from './size.js';
export { configIssues, describeValue, type ConfigIssue, type ConfigIssueOptions } from './issues.js';
