import { fileStampSync, startWorkers } from 'shared';
import type { WorkerThread } from 'shared';
import { checkFeatureFile } from './check-file.js';
import { CHECK_CHUNK, CHECK_YIELD_MS, FILE_CHECK_THREADS_FROM, STAMP_CHUNK } from './constants.js';
import type { FeatureFileCheck, FileCheckItem, FileCheckMethods, FileChecker } from './types.js';

type Worker = WorkerThread<FileCheckMethods, null>;

/** Splits `items` into parts of `size`, keeping their order. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}

/**
 * A checker for `files` files on up to `threads` threads: worker threads when there are enough
 * files to repay starting them (`FILE_CHECK_THREADS_FROM`) and more than one thread is asked for,
 * else this thread. Either way each file goes through the same `checkFeatureFile` and stamp.
 * Returns at once: the threads start in the background, and only as many as a call needs.
 */
export function startFileChecker(threads: number, files: number): FileChecker {
  return threads <= 1 || files < FILE_CHECK_THREADS_FROM ? inThisThread() : inWorkers(threads);
}

function inThisThread(): FileChecker {
  return {
    threads: 1,
    stamps: async (paths) => paths.map((path) => fileStampSync(path)?.stamp ?? null),
    async check(items, onChecked) {
      const results: FeatureFileCheck[] = [];
      let yielded = performance.now();
      for (const item of items) {
        results.push(checkFeatureFile(item.path, item.expected));
        onChecked?.(1);
        // the checks block this thread: let the progress line (and signals) through now and then
        if (performance.now() - yielded > CHECK_YIELD_MS) {
          await new Promise((done) => setImmediate(done));
          yielded = performance.now();
        }
      }
      return results;
    },
    close: async () => {},
  };
}

function inWorkers(threads: number): FileChecker {
  const started: Array<Promise<Worker>> = [];
  /** The first `count` threads, started now where they are not yet. */
  const workers = (count: number) => {
    while (started.length < count) {
      const index = started.length;
      const name = `file-check worker ${index}`;
      started.push(
        startWorkers<FileCheckMethods, null, null>(1, () => ({ entry: new URL('./worker.ts', import.meta.url), init: null, name })).then(
          ([w]) => w as Worker,
        ),
      );
    }
    return Promise.all(started.slice(0, count));
  };
  /** Runs `call` on each part on `count` threads, each taking the next part as it finishes one; results in order. */
  const spread = async <I, R>(count: number, parts: I[][], call: (worker: Worker, part: I[]) => Promise<R[]>) => {
    const results: R[][] = new Array(parts.length);
    let next = 0;
    await Promise.all(
      (await workers(count)).map(async (worker) => {
        while (next < parts.length) {
          const index = next++;
          results[index] = await call(worker, parts[index] as I[]);
        }
      }),
    );
    return results.flat();
  };
  return {
    threads,
    // Stamping runs while this thread reads the manifest, so it leaves this thread's core to it.
    stamps: (paths) =>
      spread(Math.max(1, threads - 1), chunks(paths, STAMP_CHUNK), (worker, part) => worker.call('stamp', { paths: part })),
    check: (items: readonly FileCheckItem[], onChecked?: (n: number) => void) =>
      items.length === 0
        ? Promise.resolve([])
        : spread(threads, chunks(items, CHECK_CHUNK), async (worker, part) => {
            const checked = await worker.call('check', { items: part });
            onChecked?.(checked.length);
            return checked;
          }),
    close: async () => {
      const settled = await Promise.allSettled(started);
      await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    },
  };
}
