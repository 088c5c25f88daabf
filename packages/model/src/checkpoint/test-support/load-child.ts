/**
 * Loads one checkpoint in a child process and reports what happened and the peak memory
 * (`maxRSS`), so the hostile-input tests can bound what a crafted file costs:
 * `node --import tsx load-child.ts <pthnet|torch-state-dict|safetensors> <file>`.
 */
import { loadPthNetCheckpoint } from '../pthnet/pthnetCheckpoint.js';
import { openSafetensors } from '../safetensors/safetensors.js';
import { openTorchCheckpoint } from '../torch/torchCheckpoint.js';

const [mode, file] = process.argv.slice(2);

async function load(): Promise<void> {
  if (file === undefined) throw new Error('usage: load-child.ts <mode> <file>');
  if (mode === 'pthnet') {
    await loadPthNetCheckpoint(file);
  } else if (mode === 'torch-state-dict') {
    const checkpoint = await openTorchCheckpoint(file);
    try {
      await checkpoint.readStateDict();
    } finally {
      await checkpoint.close();
    }
  } else if (mode === 'safetensors') {
    const st = await openSafetensors(file);
    try {
      for (const name of st.entries.keys()) await st.readTensor(name);
    } finally {
      await st.close();
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

let result: { ok: boolean; error?: string; message?: string };
try {
  await load();
  result = { ok: true };
} catch (error) {
  result = { ok: false, error: (error as Error).constructor.name, message: (error as Error).message };
}
// maxRSS is in kilobytes
process.stdout.write(`${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
