import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeFileAtomic, writeNpy } from 'shared';
import { dispatch } from 'shared/cli';
import { TRAIN_STAGES } from './index.js';

export const TINY = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/pthnet/tiny');
const LEVELS = [
  ['H', 4, 16],
  ['M', 8, 8],
  ['L', 16, 4],
] as const;

/**
 * The fixture batch written out as per-clip feature files in the reference layout, with
 * reference lists: clip b (id `<scene>/Emotion/000<b>`) has the first mask-count steps of each
 * level as its rows.
 */
export async function writeFixtureFeatures(root: string, suffixes: readonly string[] = [''], scene = 'Scene'): Promise<void> {
  const labels = (await readNpy(join(TINY, 'labels.npy'))).data as BigInt64Array;
  for (const [level, stride] of LEVELS) {
    const x = await readNpy(join(TINY, `input_${level}.npy`));
    const m = (await readNpy(join(TINY, `mask_${level}.npy`))).data as Uint8Array;
    const [B, D, T] = x.shape as [number, number, number];
    const lines: string[] = [];
    for (let b = 0; b < B; b++) {
      let n = 0;
      while (n < T && m[b * T + n] === 1) n++;
      const rows = new Float32Array(n * D);
      for (let t = 0; t < n; t++) for (let c = 0; c < D; c++) rows[t * D + c] = (x.data as Float32Array)[(b * D + c) * T + t]!;
      const id = `${scene}/Emotion/000${b}`;
      for (const suffix of suffixes)
        await writeNpy(join(root, `th14_vit_g_16_${stride}${suffix}`, `${id}.npy`), { data: rows, shape: [n, D] });
      lines.push(`${id}.npy ${n} ${labels[b]}`);
    }
    for (const suffix of suffixes) {
      const folder = `th14_vit_g_16_${stride}${suffix}`;
      await writeFileAtomic(join(root, folder, 'train_All.txt'), `${lines.map((l) => `get_features/${folder}/${l}`).join('\n')}\n`);
    }
  }
}

/**
 * A work folder whose manifest holds the fixture clips as imported features, packed into
 * datasets, with a config validating on the training clips (the fixture has one split).
 * `directions` chooses which feature folders exist and get packed.
 */
export async function fixtureWorkspace(
  prefix: string,
  directions: ReadonlyArray<'forward' | 'reversed'>,
): Promise<{ work: string; config: string }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  await writeFixtureFeatures(
    join(work, 'features'),
    directions.map((d) => (d === 'reversed' ? '_rv' : '')),
  );
  const config = join(work, 'pthnet.config.json');
  writeFileSync(
    config,
    JSON.stringify({ dataDir: join(work, 'data'), backend: 'wasm', extract: { directions }, datasets: { testSplit: 'train' } }),
  );
  for (const args of [['import-features', '--lists', join(work, 'features')], ['datasets']]) {
    const code = await dispatch(TRAIN_STAGES, [args[0]!, '--config', config, ...args.slice(1)]);
    if (code !== 0) throw new Error(`pthnet ${args[0]} on the fixture exited with ${code}`);
  }
  return { work, config };
}
