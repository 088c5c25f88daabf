import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig, validateConfig } from './validate.js';

describe('validateConfig', () => {
  it('fills the published FERV39k recipe as defaults', () => {
    const c = validateConfig({});
    expect(c.dataDir).toBe('data');
    expect(c.backend).toBe('auto');
    expect(c.extract.strides).toEqual([4, 8, 16]);
    expect(c.extract.rule).toBe('cover');
    expect(c.extract.directions).toEqual(['forward', 'reversed']);
    expect(c.train).toMatchObject({
      epochs: 20,
      batchSize: 32,
      lr: 0.005,
      milestones: [5, 10, 15],
      gamma: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      noise: 0.0005,
      dropPath: 0.1,
      direction: 'both',
    });
    expect(c.eval.mu).toBe(0.7);
  });

  it('keeps given values and applies flag overrides on top of the file', () => {
    const c = validateConfig({ train: { lr: 0.01, epochs: 3 } }, [{ key: 'train.epochs', value: 5, flag: '--epochs' }]);
    expect(c.train.lr).toBe(0.01);
    expect(c.train.epochs).toBe(5);
    expect(c.train.batchSize).toBe(32);
  });

  it('names the key, the flag, the value and what was expected', () => {
    let err: unknown;
    try {
      validateConfig({}, [{ key: 'train.lr', value: 'fast', flag: '--lr' }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('train.lr (--lr): expected number, got "fast"');
  });

  it('reports every bad key of a file at once', () => {
    expect(() => validateConfig({ extract: { rule: 'sometimes', strides: [4, -8] }, backend: 'tpu' }, [], 'my.json')).toThrowError(
      /backend \(my\.json\): expected one of "auto"\|"node-gpu"\|"node"\|"wasm"\|"cpu", got "tpu"[\s\S]*extract\.strides\.1 \(my\.json\): expected .*>0.*, got -8[\s\S]*extract\.rule \(my\.json\): expected one of "cover"\|"inside", got "sometimes"/,
    );
  });

  it('takes any layout name: the extract package, which registers the layouts, checks it', () => {
    const c = validateConfig({ ingest: { datasets: [{ name: 'x', layout: 'my-own-layout', root: '/d', fold: 2 }] } });
    expect(c.ingest.datasets).toEqual([{ name: 'x', layout: 'my-own-layout', root: '/d', fold: 2 }]);
    expect(() => validateConfig({ ingest: { datasets: [{ name: 'x', layout: '', root: '/d' }] } })).toThrowError(
      /ingest\.datasets\.0\.layout \(pthnet\.config\.json\): expected .*/,
    );
  });

  it('rejects a wrong type inside nested arrays with the exact path', () => {
    expect(() => validateConfig({ ingest: { datasets: [{ name: 'x', layout: 'ferv39k' }] } })).toThrowError(
      'ingest.datasets.0.root (pthnet.config.json): expected string, got nothing',
    );
  });
});

describe('validateConfig on hostile or mistaken input', () => {
  const message = (raw: unknown, overrides: Parameters<typeof validateConfig>[1] = []): string => {
    try {
      validateConfig(raw, overrides, 'my.json');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('refuses unknown keys at every level, suggesting the closest known one', () => {
    expect(message({ train: { epcohs: 3 } })).toContain(
      'train.epcohs (my.json): unknown key (did you mean "epochs"?); expected one of epochs, batchSize, lr,',
    );
    expect(message({ extrct: {} })).toContain('extrct (my.json): unknown key (did you mean "extract"?)');
    expect(message({ extract: { backbone: { presett: 'vit-s16' } } })).toContain(
      'extract.backbone.presett (my.json): unknown key (did you mean "preset"?)',
    );
  });

  it('says Infinity, not null, for a number too large for JSON (1e999), and refuses it', () => {
    expect(message(JSON.parse('{ "train": { "lr": 1e999 } }'))).toContain('train.lr (my.json): expected number, got Infinity');
  });

  it('blames the flag that set a list for a bad item in it', () => {
    expect(message({}, [{ key: 'train.milestones', value: [5, 'a'], flag: '--milestones' }])).toContain(
      'train.milestones.1 (--milestones): expected number, got "a"',
    );
  });

  it('checks cross-field rules before any work: milestones strictly increasing, mu in [0, 1], workers within the cores', () => {
    expect(message({}, [{ key: 'train.milestones', value: [2, 1], flag: '--milestones' }])).toContain(
      'train.milestones (--milestones): expected strictly increasing epochs, got [2,1]',
    );
    expect(message({ eval: { mu: 1.5 } })).toContain('eval.mu (my.json): expected number to be <=1, got 1.5');
    expect(message({}, [{ key: 'workers', value: 999, flag: '--workers' }])).toContain(
      `workers (--workers): expected at most ${availableParallelism()} (the CPU cores of this machine), got 999`,
    );
  });
});

describe('loadConfig', () => {
  it('reads the file in cwd, and treats a missing default file as all defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-config-'));
    expect(loadConfig({ cwd: dir }).train.epochs).toBe(20);
    writeFileSync(join(dir, 'pthnet.config.json'), JSON.stringify({ train: { epochs: 2 } }));
    expect(loadConfig({ cwd: dir }).train.epochs).toBe(2);
  });

  it('fails clearly on a missing explicit file and on bad JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-config-'));
    expect(() => loadConfig({ cwd: dir, path: 'nope.json' })).toThrowError(/nope\.json: expected an existing file/);
    writeFileSync(join(dir, 'bad.json'), '{ "train": ');
    expect(() => loadConfig({ cwd: dir, path: 'bad.json' })).toThrowError(/bad\.json: expected valid JSON/);
  });
});
