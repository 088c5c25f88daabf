/**
 * One training run in a child process, for the kill tests:
 * `node --import tsx train-child.ts <datasetDir> <datasetName> <outDir> <killAtRename>`.
 * With `killAtRename` n > 0 the process SIGKILLs itself right after the n-th rename of
 * `last.safetensors` into place: the new weights are there, their sidecar is not (the kill
 * between a checkpoint's writes). Prints `epoch <n>` after each epoch and `done` at the end.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const [datasetDir, datasetName, outDir, killAtRaw] = process.argv.slice(2);
const killAt = Number(killAtRaw ?? '0');
if (datasetDir === undefined || datasetName === undefined || outDir === undefined)
  throw new Error('usage: <datasetDir> <name> <outDir> <killAtRename>');

// Every module that imported `rename` from node:fs/promises sees this wrapper (live bindings).
const fsPromises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
const rename = fsPromises.rename;
let weightRenames = 0;
fsPromises.rename = async (from, to) => {
  await rename(from, to);
  if (String(to).endsWith('/last.safetensors') && ++weightRenames === killAt) process.kill(process.pid, 'SIGKILL');
};
syncBuiltinESMExports();

const { selectBackend, validateConfig } = await import('shared');
const { openPackedDataset } = await import('../../packed/packed.js');
const { trainRun } = await import('../trainer.js');
const { KILL_TEST_HYPER } = await import('./kill-hyper.js');

await selectBackend('cpu');
const ds = await openPackedDataset(datasetDir, datasetName);
await trainRun({
  outDir,
  train: ds,
  validation: ds,
  hyper: validateConfig({ train: KILL_TEST_HYPER }).train,
  runKey: 'kill-test',
  onEpoch: (r) => process.stdout.write(`epoch ${r.epoch + 1}\n`),
});
await ds.close();
process.stdout.write('done\n');
