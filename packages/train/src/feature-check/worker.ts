/** A file-check worker thread (started by `startFileChecker`): stamps and checks feature files. */
import { fileStampSync, serveWorker } from 'shared/worker';
import { checkFeatureFile } from './check-file.js';
import type { FileCheckMethods } from './types.js';

serveWorker<FileCheckMethods, null, null>(() => ({
  ready: null,
  handlers: {
    stamp: ({ paths }) => paths.map((path) => fileStampSync(path)?.stamp ?? null),
    check: ({ items }) => items.map((item) => checkFeatureFile(item.path, item.expected)),
  },
}));
