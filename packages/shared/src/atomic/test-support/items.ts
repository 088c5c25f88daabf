import type { ClipInput } from '../../manifest/types.js';
import type { ArtifactIdentity } from '../../pipeline/catalogue.js';
import { featureIdentity } from '../../pipeline/catalogue.js';

export const ITEM_CODE_VERSION = 'producer-child-1';
const ITEM_BYTES = 24 * 1024;
const CHUNKS = 4;

function itemClipId(item: number): string {
  return `clip-${String(item).padStart(3, '0')}`;
}

/** The clip each item's features belong to (artifacts of a clip need the clip in the manifest). */
export function itemClip(item: number): ClipInput {
  return { id: itemClipId(item), dataset: 'test', split: 'train', label: 0, labelName: 'A', frameCount: 1, contentHash: `clip-${item}` };
}

export function itemIdentity(item: number): ArtifactIdentity {
  return featureIdentity(itemClipId(item), 'forward', 4, 'raw');
}

/** The content of item `item`: bytes that differ per item and per position, so a mix-up or tear shows. */
export function itemBytes(item: number): Uint8Array {
  const bytes = new Uint8Array(ITEM_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (item * 31 + i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export function itemChunks(bytes: Uint8Array): Uint8Array[] {
  const size = Math.ceil(bytes.length / CHUNKS);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return chunks;
}
