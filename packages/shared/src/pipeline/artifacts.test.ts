import { describe, expect, it } from 'vitest';
import { featureFolderName, parseFeatureFolderName } from './artifacts.js';

describe('feature folder names', () => {
  it('follow the reference layout and parse back', () => {
    const cases = [
      [{ tag: 'th14_vit_g', windowLength: 16, stride: 4, source: 'raw', direction: 'forward' }, 'th14_vit_g_16_4'],
      [{ tag: 'th14_vit_g', windowLength: 16, stride: 16, source: 'face', direction: 'reversed' }, 'th14_vit_g_16_16_face_rv'],
      [{ tag: 'demo', windowLength: 16, stride: 8, source: 'raw', direction: 'reversed' }, 'demo_16_8_rv'],
    ] as const;
    for (const [folder, name] of cases) {
      expect(featureFolderName(folder)).toBe(name);
      expect(parseFeatureFolderName(name)).toEqual(folder);
    }
    expect(parseFeatureFolderName('Action')).toBeUndefined();
  });
});
