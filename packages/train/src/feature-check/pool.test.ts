import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, fileStampSync } from 'shared';
import { checkFeatureFile } from './check-file.js';
import { CHECK_CHUNK, FILE_CHECK_THREADS_FROM } from './constants.js';
import { startFileChecker } from './pool.js';

describe('startFileChecker: the same stamps and checks in worker threads as in this one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pthnet-filecheck-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // more files than one call takes, so that both threads get parts and the order must be restored
  const files = Array.from({ length: CHECK_CHUNK * 2 + 7 }, (_, i) => {
    const path = join(dir, `${i}.npy`);
    if (i % 50 === 3) return path; // missing
    if (i % 50 === 11)
      mkdirSync(path); // a folder
    else if (i % 50 === 17) writeFileSync(path, encodeNpy({ data: Float32Array.of(1, Number.NaN), shape: [1, 2] }));
    else
      writeFileSync(path, encodeNpy({ data: Float32Array.from({ length: 2 * (1 + (i % 3)) }, (_, k) => i + k), shape: [1 + (i % 3), 2] }));
    return path;
  });
  const items = files.map((path, i) => ({ path, expected: i % 7 === 0 ? { rows: 2 } : {} }));

  it('below the threshold or with one thread, works in this thread', async () => {
    expect(startFileChecker(2, FILE_CHECK_THREADS_FROM - 1).threads).toBe(1);
    expect(startFileChecker(1, FILE_CHECK_THREADS_FROM * 10).threads).toBe(1);
  });

  it('two worker threads give every file the stamp and check this thread gives, in order', async () => {
    const checker = startFileChecker(2, FILE_CHECK_THREADS_FROM);
    try {
      expect(checker.threads).toBe(2);
      expect(await checker.stamps(files)).toEqual(files.map((path) => fileStampSync(path)?.stamp ?? null));
      let progressed = 0;
      const results = await checker.check(items, (n) => {
        progressed += n;
      });
      expect(results).toEqual(items.map((item) => checkFeatureFile(item.path, item.expected)));
      expect(progressed).toBe(items.length);
      // the cases are all there: good files, missing, folders, NaN, wrong rows
      const codes = new Set(results.map((r) => (r.ok ? 'ok' : r.code)));
      expect([...codes].sort()).toEqual(['missing', 'not_finite', 'ok', 'rows', 'unreadable']);
    } finally {
      await checker.close();
    }
  });
});
