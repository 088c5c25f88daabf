import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../errors/index.js';
import { PNG_SIGNATURE } from './constants.js';
import { countDarkPixels, decodePngRgba } from './png-decode.test-helper.js';
import { readPngSize, renderChartPng, validateChartRenderOptions } from './render.js';

const barSpec = {
  data: {
    values: [
      { emotion: 'Happy', count: 3 },
      { emotion: 'Sad', count: 5 },
    ],
  },
  mark: 'bar',
  encoding: {
    x: { field: 'emotion', type: 'nominal' },
    y: { field: 'count', type: 'quantitative' },
  },
  width: 300,
  height: 200,
};

describe('renderChartPng', () => {
  it('renders a PNG of exactly the requested size', async () => {
    const png = await renderChartPng(barSpec, { width: 400, height: 250 });
    expect([...png.subarray(0, 8)]).toEqual([...PNG_SIGNATURE]);
    expect(readPngSize(png)).toEqual({ width: 400, height: 250 });
  });

  it('draws text with the system font', async () => {
    const textSpec = (text: string) => ({
      data: { values: [{}] },
      mark: { type: 'text', fontSize: 40, color: 'black' },
      encoding: { text: { value: text } },
      width: 300,
      height: 100,
    });
    const blank = decodePngRgba(await renderChartPng(textSpec(''), { width: 300, height: 100 }));
    const happy = decodePngRgba(await renderChartPng(textSpec('Happy'), { width: 300, height: 100 }));
    expect(countDarkPixels(blank)).toBe(0);
    // 40 px glyphs of five letters cover a few hundred dark pixels; missing fonts draw none.
    expect(countDarkPixels(happy)).toBeGreaterThan(300);
  });

  it('rejects bad options and specs naming the key', async () => {
    await expect(renderChartPng(barSpec, { width: 0, height: 10 })).rejects.toThrow(/options\.width.*got 0/);
    await expect(renderChartPng(barSpec, { width: 10, height: 2.5 })).rejects.toThrow(ConfigError);
    await expect(renderChartPng({ mark: 'nonsense-mark' }, { width: 10, height: 10 })).rejects.toThrow(ConfigError);
  });
});

describe('validateChartRenderOptions', () => {
  it('fills the defaults', () => {
    expect(validateChartRenderOptions({ width: 10, height: 20 })).toEqual({
      width: 10,
      height: 20,
      background: 'white',
      fontFamily: 'DejaVu Sans',
    });
    expect(() => validateChartRenderOptions({ width: 10, height: 20, fontFamily: '' })).toThrow(/fontFamily/);
  });
});

describe('readPngSize', () => {
  it('reads width and height from IHDR', () => {
    const header = new Uint8Array(24);
    header.set(PNG_SIGNATURE, 0);
    header.set([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x01, 0x2c, 0, 0, 0, 0xc8], 8);
    expect(readPngSize(header)).toEqual({ width: 300, height: 200 });
  });

  it('rejects bytes that are not a PNG', () => {
    expect(() => readPngSize(new Uint8Array(30))).toThrow(InputError);
  });
});
