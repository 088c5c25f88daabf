import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../errors/index.js';
import { cacheKey, cacheKeyOfInput, canonicalJson } from './cache-key.js';
import { hashBytes, hashFile, hashFileWithSize } from './hash.js';
import type { CacheKeyInput } from './types.js';

// sha256("abc") and sha256("") from FIPS 180-2 / the well-known empty digest.
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and drops undefined keys', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, e: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
    expect(canonicalJson([undefined, 'a'])).toBe('[null,"a"]');
  });

  it('refuses values JSON cannot round-trip, naming where they are', () => {
    expect(() => canonicalJson({ lr: Number.NaN })).toThrow(new ConfigError('$.lr: expected a finite number, got NaN'));
    expect(() => canonicalJson({ a: [1, 2n] })).toThrow('$.a[1]: expected a JSON value');
    expect(() => canonicalJson({ when: new Date(0) })).toThrow('got Date');
  });
});

describe('cacheKey', () => {
  const base: CacheKeyInput = {
    stage: 'extract',
    kind: 'features',
    params: { windowRule: 'cover', windowLength: 16, backbone: { depth: 12, dim: 384 } },
    inputs: { clip: 'aaa', checkpoint: 'bbb' },
    codeVersion: 'extract-1',
  };

  it('is the sha256 of the canonical JSON of stage, kind, params, inputs and code version', () => {
    const expectedText =
      '{"codeVersion":"extract-1","format":1,"inputs":{"checkpoint":"bbb","clip":"aaa"},"kind":"features",' +
      '"params":{"backbone":{"depth":12,"dim":384},"windowLength":16,"windowRule":"cover"},"stage":"extract"}';
    expect(cacheKey(base)).toBe(hashBytes(expectedText));
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on key order but changes with every part', () => {
    const reordered: CacheKeyInput = {
      codeVersion: 'extract-1',
      inputs: { checkpoint: 'bbb', clip: 'aaa' },
      params: { backbone: { dim: 384, depth: 12 }, windowLength: 16, windowRule: 'cover' },
      kind: 'features',
      stage: 'extract',
    };
    expect(cacheKey(reordered)).toBe(cacheKey(base));
    const variants: CacheKeyInput[] = [
      { ...base, stage: 'datasets' },
      { ...base, kind: 'dataset' },
      { ...base, params: { ...base.params, windowRule: 'inside' } },
      { ...base, params: { ...base.params, backbone: { depth: 12, dim: 768 } } },
      { ...base, inputs: { clip: 'aab', checkpoint: 'bbb' } },
      { ...base, inputs: { clip: 'aaa', checkpoint: 'bbc' } },
      { ...base, codeVersion: 'extract-2' },
    ];
    const keys = new Set([cacheKey(base), ...variants.map(cacheKey)]);
    expect(keys.size).toBe(variants.length + 1);
    // Ordered inputs: order matters.
    expect(cacheKey({ ...base, inputs: ['a', 'b'] })).not.toBe(cacheKey({ ...base, inputs: ['b', 'a'] }));
  });

  it('cacheKeyOfInput gives the key cacheKey gives, hash by hash, whatever the hash looks like', () => {
    const { inputs: _inputs, ...rest } = base;
    const keyOf = cacheKeyOfInput(rest, 'file');
    for (const hash of [hashBytes('a'), hashBytes('b'), 'not hex: "quoted"']) {
      expect(keyOf(hash)).toBe(cacheKey({ ...rest, inputs: { file: hash } }));
    }
    expect(keyOf(hashBytes('a'))).not.toBe(keyOf(hashBytes('b')));
    // a parameter that holds the slot text too is still keyed right
    const tricky = { ...rest, params: { note: '@@pthnet-input-hash@@' } };
    expect(cacheKeyOfInput(tricky, 'file')(hashBytes('a'))).toBe(cacheKey({ ...tricky, inputs: { file: hashBytes('a') } }));
  });

  it('rejects an empty stage or code version and non-hash inputs', () => {
    expect(() => cacheKey({ ...base, codeVersion: '' })).toThrow('cacheKey: codeVersion: expected a non-empty string, got ""');
    expect(() => cacheKey({ ...base, inputs: { clip: '' } })).toThrow('inputs: expected content hashes as non-empty strings');
  });
});

describe('hashBytes / hashFile', () => {
  it('match known sha256 digests', async () => {
    expect(hashBytes('abc')).toBe(SHA256_ABC);
    expect(hashBytes(new Uint8Array([0x61, 0x62, 0x63]))).toBe(SHA256_ABC);
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-hash-'));
    try {
      writeFileSync(path.join(dir, 'abc'), 'abc');
      writeFileSync(path.join(dir, 'empty'), '');
      expect(await hashFile(path.join(dir, 'abc'))).toBe(SHA256_ABC);
      expect(await hashFileWithSize(path.join(dir, 'empty'))).toEqual({ hash: SHA256_EMPTY, bytes: 0 });
      // Larger than one read chunk (1 MiB): the streamed hash equals the one-shot hash.
      const big = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);
      writeFileSync(path.join(dir, 'big'), big);
      expect(await hashFileWithSize(path.join(dir, 'big'))).toEqual({ hash: hashBytes(big), bytes: big.length });
      await expect(hashFile(path.join(dir, 'missing'))).rejects.toThrow(InputError);
      // a folder given where a file is expected (e.g. `--init runs/`) says so, not "read failed"
      await expect(hashFile(dir)).rejects.toThrow(new InputError(`cannot hash ${dir}: expected a file, got a directory`, dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
