/**
 * A stand-in stage for the crash and concurrency tests of produceArtifact, run as a separate
 * process (`node --import tsx producer-child.ts`). It produces ITEM_COUNT deterministic files
 * through ensureArtifact, appending `<item> <pid>` to PRODUCE_LOG each time it writes one.
 *
 * Environment: MANIFEST, OUT_DIR, PRODUCE_LOG, ITEM_COUNT, CHUNK_DELAY_MS (pause between the
 * chunks of one file, to widen the window for a kill), CRASH_ITEM + CRASH_PHASE (SIGKILL itself
 * after that phase of that item), WAIT_FOR_GO (print `ready` and wait for a line on stdin).
 * Prints one JSON line of counts at the end.
 */
import { appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { cacheKey } from '../../cache/cache-key.js';
import { ManifestStore } from '../../manifest/store.js';
import { ensureArtifact } from '../produce-artifact.js';
import { cleanStaleTempFiles } from '../write-file-atomic.js';
import { itemBytes, itemChunks, itemClip, itemIdentity, ITEM_CODE_VERSION } from './items.js';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`producer-child: expected env ${name}`);
  return value;
}

const manifestPath = requireEnv('MANIFEST');
const outDir = requireEnv('OUT_DIR');
const logPath = requireEnv('PRODUCE_LOG');
const itemCount = Number(requireEnv('ITEM_COUNT'));
const chunkDelayMs = Number(process.env.CHUNK_DELAY_MS ?? '0');
const crashItem = process.env.CRASH_ITEM === undefined ? -1 : Number(process.env.CRASH_ITEM);
const crashPhase = process.env.CRASH_PHASE;

const store = ManifestStore.open(manifestPath);
const runId = store.runs.startRun('extract', { itemCount });
store.clips.upsertClips(Array.from({ length: itemCount }, (_, item) => itemClip(item)));
await cleanStaleTempFiles(outDir, { recursive: true });

if (process.env.WAIT_FOR_GO) {
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
} else {
  process.stdout.write('ready\n');
}

const counts = { produced: 0, upToDate: 0, taken: 0 };
for (let item = 0; item < itemCount; item++) {
  const identity = itemIdentity(item);
  const plan = {
    cacheKey: cacheKey({ stage: 'extract', kind: 'features', params: { item }, inputs: [], codeVersion: ITEM_CODE_VERSION }),
    params: { item },
    path: path.join(outDir, `item-${String(item).padStart(3, '0')}.bin`),
  };
  const result = await ensureArtifact(
    store,
    identity,
    plan,
    async (tmpPath) => {
      const handle = await open(tmpPath, 'w');
      try {
        for (const chunk of itemChunks(itemBytes(item))) {
          await handle.write(chunk);
          if (chunkDelayMs > 0) await sleep(chunkDelayMs);
        }
      } finally {
        await handle.close();
      }
      appendFileSync(logPath, `${item} ${process.pid}\n`);
    },
    {
      runId,
      onPhase: (phase) => {
        if (item === crashItem && phase === crashPhase) process.kill(process.pid, 'SIGKILL');
      },
    },
  );
  if (result.outcome === 'produced') counts.produced++;
  else if (result.outcome === 'skipped' && result.reason === 'up-to-date') counts.upToDate++;
  else counts.taken++;
}
store.runs.finishRun(runId, { outcome: 'ok', counts });
store.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
