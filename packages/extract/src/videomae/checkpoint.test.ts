import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SafetensorsTensor } from 'model';
import { writeSafetensors } from 'model';
import { CheckpointError, selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVitWeights, openVitTensorSource } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import type { TinyVitFixture } from './testing.js';
import { loadTinyVitFixture, maxAbsDiff } from './testing.js';
import { createVitModel } from './vit.js';

let fixture: TinyVitFixture;
let scratch: string;
beforeAll(async () => {
  fixture = await loadTinyVitFixture();
  scratch = await mkdtemp(path.join(tmpdir(), 'vit-checkpoint-'));
  await selectBackend('wasm');
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('openVitTensorSource', () => {
  it('finds the state dict under module in the reference .pth, head included, and reads one tensor', async () => {
    const source = await openVitTensorSource(fixture.checkpointPath);
    try {
      expect(source.path).toBe(fixture.checkpointPath);
      expect([...source.shapes]).toEqual([...fixture.stateDictShapes]);
      const bias = await source.read('blocks.1.attn.v_bias');
      expect(bias.length).toBe(48);
      await expect(source.read('blocks.2.attn.v_bias')).rejects.toThrow(
        `${fixture.checkpointPath}: blocks.2.attn.v_bias: expected a tensor, got no such key`,
      );
    } finally {
      await source.close();
    }
  });

  it('refuses a file that is neither a torch zip nor safetensors', async () => {
    const bogus = path.join(scratch, 'bogus.pth');
    await writeFile(bogus, 'not a checkpoint at all');
    const opening = openVitTensorSource(bogus);
    await expect(opening).rejects.toBeInstanceOf(CheckpointError);
    await expect(openVitTensorSource(bogus)).rejects.toThrow(
      `${bogus}: expected a PyTorch zip checkpoint (.pth) or a safetensors file, got neither`,
    );
    await expect(opening).rejects.toMatchObject({ reason: 'unknown_format', path: bogus });
  });

  it('reports a safetensors file with a bad header as a bad safetensors header, naming the file, whatever its name', async () => {
    const header = (length: bigint, json: string) => {
      const bytes = Buffer.alloc(8 + json.length);
      bytes.writeBigUInt64LE(length, 0);
      bytes.write(json, 8, 'latin1');
      return bytes;
    };
    const cases: Array<[string, Buffer, RegExp]> = [
      // a header length past the end of the file, in a file named like a torch checkpoint
      ['long.pth', header(1n << 40n, '{"a": 1}'), /bad safetensors header: its length 1099511627776 does not fit a 16-byte file/],
      ['broken.safetensors', header(5n, '{"a":'), /bad safetensors header: expected JSON/],
      [
        'short.safetensors',
        Buffer.from([1, 2, 3]),
        /bad safetensors header: expected at least the 8-byte header length, got a 3-byte file/,
      ],
      ['entry.safetensors', header(23n, '{"w": {"dtype": "F32"}}'), /safetensors header entry w: expected shape/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(scratch, name);
      await writeFile(file, bytes);
      const error = await openVitTensorSource(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(CheckpointError);
      expect(error, name).toMatchObject({ reason: 'bad_safetensors_header', path: file });
      expect((error as Error).message, name).toMatch(message);
      expect((error as Error).message.startsWith(file), name).toBe(true);
    }
  });
});

describe('loadVitWeights', () => {
  it('loads the same model from a safetensors copy whose keys carry a module. prefix', async () => {
    const source = await openVitTensorSource(fixture.checkpointPath);
    const tensors: SafetensorsTensor[] = [];
    for (const [key, shape] of source.shapes)
      tensors.push({ name: `module.${key}`, dtype: 'F32', shape: [...shape], data: await source.read(key) });
    await source.close();
    const copy = path.join(scratch, 'tiny.safetensors');
    await writeSafetensors(copy, tensors);

    const model = createVitModel(fixture.config, await loadVitWeights(copy, fixture.config));
    expect(maxAbsDiff(await model.extractFeatures(fixture.windows), fixture.features.data)).toBeLessThan(1e-4);
    await model.dispose();
  });

  it('refuses a checkpoint that does not fit the preset, with the file as the error path', async () => {
    const loading = loadVitWeights(fixture.checkpointPath, resolveVitConfig('vit-b16'));
    await expect(loading).rejects.toBeInstanceOf(CheckpointError);
    await expect(loading).rejects.toMatchObject({
      path: fixture.checkpointPath,
      message: `${fixture.checkpointPath}: patch_embed.proj.weight: expected shape [768, 3, 2, 16, 16], got [48, 3, 2, 8, 8] (the checkpoint has D 48, patch 8, tubelet 2, depth 2, MLP 192; the config is vit-b16)`,
    });
  });
});
