/**
 * A stand-in stage for the crash and concurrency tests of produceArtifact, run as a separate
 * process (`node --import tsx producer-child.ts`). It makes ITEM_COUNT deterministic artifacts of
 * one case of ./items.ts (a kind of the artifact catalogue, made the way its stage makes it)
 * through ensureArtifact, appending `<item> <pid>` to PRODUCE_LOG each time it makes one.
 *
 * Environment: CASE, MANIFEST, DATA_DIR, PRODUCE_LOG, ITEM_COUNT, CHUNK_DELAY_MS (pause between
 * the chunks of one file, to widen the window for a kill), CRASH_ITEM + CRASH_PHASE (SIGKILL
 * itself after that phase of that item), WAIT_FOR_GO (print `ready` and wait for a line on
 * stdin). Prints one JSON line of counts at the end.
 */
import { appendFileSync, existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManifestStore } from '../../manifest/store.js';
import { artifactCacheKey } from '../../pipeline/catalogue.js';
import { ensureArtifact } from '../produce-artifact.js';
import type { ArtifactMaker } from '../types.js';
import { cleanStaleTempFiles, writeFileAtomic } from '../write-file-atomic.js';
import { ITEM_CODE_VERSION, itemChunks, producerCase } from './items.js';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`producer-child: expected env ${name}`);
  return value;
}

const kind = producerCase(requireEnv('CASE'));
const manifestPath = requireEnv('MANIFEST');
const dataDir = requireEnv('DATA_DIR');
const logPath = requireEnv('PRODUCE_LOG');
const itemCount = Number(requireEnv('ITEM_COUNT'));
const chunkDelayMs = Number(process.env.CHUNK_DELAY_MS ?? '0');
const crashItem = process.env.CRASH_ITEM === undefined ? -1 : Number(process.env.CRASH_ITEM);
const crashPhase = process.env.CRASH_PHASE;

const store = await ManifestStore.open(manifestPath);
const runId = await store.runs.startRun(kind.runStage, { case: kind.name, itemCount });
await store.clips.upsertClips(kind.clips(itemCount));
await cleanStaleTempFiles(dataDir, { recursive: true });
if (kind.mode === 'register') {
  // the files import-features finds already there
  for (let item = 0; item < itemCount; item++) {
    const file = kind.target(dataDir, item);
    if (!existsSync(file)) await writeFileAtomic(file, kind.files(item)[0]!.bytes);
  }
}

process.stdout.write('ready\n');
if (process.env.WAIT_FOR_GO) {
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
}

/** Writes `bytes` through a handle in chunks, pausing between them. */
async function writeSlowly(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (const chunk of itemChunks(bytes)) {
    await handle.write(chunk);
    if (chunkDelayMs > 0) await sleep(chunkDelayMs);
  }
}

function makerFor(item: number): ArtifactMaker {
  const made = () => appendFileSync(logPath, `${item} ${process.pid}\n`);
  const files = kind.files(item);
  switch (kind.mode) {
    case 'register':
      return { register: {} };
    case 'file':
      return async (tmpPath) => {
        const handle = await open(tmpPath, 'w');
        try {
          await writeSlowly(handle, files[0]!.bytes);
        } finally {
          await handle.close();
        }
        made();
      };
    case 'folder':
      return {
        // as the stages do: each file written atomically into the folder, the record comes after
        writeFolder: async (folder) => {
          for (const file of files) await writeFileAtomic(path.join(folder, file.name), (handle) => writeSlowly(handle, file.bytes));
          made();
          return { files: files.map((file) => file.name) };
        },
      };
  }
}

const counts = { produced: 0, upToDate: 0, taken: 0 };
for (let item = 0; item < itemCount; item++) {
  const params = { case: kind.name, item, code: ITEM_CODE_VERSION };
  const plan = {
    cacheKey: artifactCacheKey(kind.kind, { params, inputs: [] }),
    params,
    path: kind.target(dataDir, item),
  };
  // Registering writes nothing, and a done item is now skipped by its stamp without a read: without
  // this the whole run could end before the test's random kill, or between its last record and its exit.
  if (kind.mode === 'register' && chunkDelayMs > 0) await sleep(chunkDelayMs * 4);
  const result = await ensureArtifact(store, kind.identity(item), plan, makerFor(item), {
    runId,
    onPhase: (phase) => {
      // registering writes nothing: its work is checking the file
      if (kind.mode === 'register' && phase === 'verified') appendFileSync(logPath, `${item} ${process.pid}\n`);
      if (item === crashItem && phase === crashPhase) process.kill(process.pid, 'SIGKILL');
    },
  });
  if (result.outcome === 'produced') counts.produced++;
  else if (result.outcome === 'skipped' && result.reason === 'up-to-date') counts.upToDate++;
  else counts.taken++;
}
await store.runs.finishRun(runId, { outcome: 'ok', counts });
// A kill from here on finds the run recorded as finished: the crash test must not count it as interrupted.
process.stdout.write('finished\n');
await store.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
