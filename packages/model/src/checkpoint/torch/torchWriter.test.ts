import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTorchCheckpoint } from './torchCheckpoint.js';
import { writeTorchStateDict } from './torchWriter.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'torch-writer-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const entries = [
  { key: 'blocks.0.attn.qkv.weight', shape: [6, 2] },
  { key: 'blocks.0.attn.q_bias', shape: [2] },
  { key: 'scalar', shape: [] },
];
const valuesOf = (key: string): Float32Array => {
  const shape = entries.find((e) => e.key === key)?.shape ?? [];
  const seed = key.length;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i - 3.25) * seed + 0.1);
};

describe('writeTorchStateDict', () => {
  for (const [label, options] of [
    ['stored, under module', { container: 'module', deflate: false }],
    ['deflated, bare', { container: null, deflate: true }],
  ] as const) {
    it(`writes what openTorchCheckpoint reads back exactly (${label})`, async () => {
      const file = path.join(tmp, `${label.replace(/\W+/g, '_')}.pth`);
      const asked: string[] = [];
      await writeTorchStateDict(file, {
        entries,
        values: (key) => {
          asked.push(key);
          return valuesOf(key);
        },
        ...options,
      });
      // one tensor at a time, in file order
      expect(asked).toEqual(entries.map((e) => e.key));
      const checkpoint = await openTorchCheckpoint(file);
      try {
        const refs = checkpoint.findStateDict(['module']);
        expect([...refs.keys()]).toEqual(entries.map((e) => e.key));
        if (options.container === 'module') expect([...(checkpoint.root as Map<string, unknown>).keys()]).toEqual(['module']);
        for (const { key, shape } of entries) {
          const tensor = await checkpoint.readTensor(refs.get(key)!);
          expect(tensor.shape).toEqual(shape);
          expect(tensor.dtype).toBe('float32');
          expect(Array.from(tensor.data as Float32Array)).toEqual(Array.from(valuesOf(key)));
        }
      } finally {
        await checkpoint.close();
      }
    });
  }

  it('refuses values that do not fill the shape, leaving no file', async () => {
    const file = path.join(tmp, 'short.pth');
    await expect(writeTorchStateDict(file, { entries, values: () => new Float32Array(1) })).rejects.toThrow(
      /blocks\.0\.attn\.qkv\.weight: expected 12 values for shape \[6, 2\], got 1/,
    );
    await expect(openTorchCheckpoint(file)).rejects.toThrow(/cannot open/);
  });
});
