import { inflateSync } from 'node:zlib';
import { readPngSize } from './render.js';

/**
 * Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what resvg writes) into RGBA pixels, so tests
 * can count what was drawn. Test-only: the product never reads PNGs back.
 */
export function decodePngRgba(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  const { width, height } = readPngSize(png);
  const bitDepth = png[24];
  const colorType = png[25];
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (bitDepth !== 8 || channels === 0 || png[28] !== 0) {
    throw new Error(`decodePngRgba: expected 8-bit RGB(A) non-interlaced, got depth ${bitDepth} type ${colorType}`);
  }
  const idat: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT') idat.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const current = new Uint8Array(stride);
  let previous = new Uint8Array(stride);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? current[i - channels]! : 0;
      const up = previous[i]!;
      const upLeft = i >= channels ? previous[i - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - upLeft);
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      current[i] = (line[i]! + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 4; c++) {
        rgba[(y * width + x) * 4 + c] = c < channels ? current[x * channels + c]! : 255;
      }
    }
    previous = Uint8Array.from(current);
  }
  return { width, height, rgba };
}

/** Number of pixels darker than `threshold` in every RGB channel. */
export function countDarkPixels(image: { rgba: Uint8Array }, threshold = 100): number {
  let count = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    if (image.rgba[i]! < threshold && image.rgba[i + 1]! < threshold && image.rgba[i + 2]! < threshold) count++;
  }
  return count;
}
