import { describe, expect, it, vi } from 'vitest';
import { main } from './pthnet.js';
import { STAGES } from './stages.js';

describe('pthnet dispatcher', () => {
  it('composes every package stage table once, in pipeline order', () => {
    expect(STAGES.map((s) => s.name)).toEqual([
      'ingest',
      'extract',
      'import-features',
      'datasets',
      'train',
      'eval',
      'cv',
      'predict',
      'demo',
      'status',
      'manifest',
    ]);
  });

  it('loads each stage lazily into a command of the same name with a --help', async () => {
    for (const stage of STAGES) {
      const cmd = (await stage.load()).command();
      expect(cmd.name()).toBe(stage.name);
      expect(cmd.helpInformation()).toContain('--config <file>');
    }
  });

  it('prints the stage list for --help and rejects an unknown stage naming the choices', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['--help'])).toBe(0);
      expect(log.mock.calls.flat().join('\n')).toMatch(/import-features\s+register features/);
      expect(log.mock.calls.flat().join('\n')).toMatch(/cv\s+k-fold cross-validation/);
      expect(await main(['trian'])).toBe(2);
      expect(error.mock.calls.flat().join('\n')).toContain('unknown stage "trian"; expected one of ingest, extract, import-features');
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
