import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { TensorRef } from 'model';
import { openSafetensors, openTorchCheckpoint, safetensorsToFloat32 } from 'model';
import { CheckpointError } from 'shared';
import { VIT_STATE_DICT_CONTAINERS, VIT_STATE_DICT_PREFIXES } from './constants.js';
import type { LoadVitWeightsOptions, VitConfig, VitTensorSource, VitWeights } from './types.js';
import { vitWeightsFromSource } from './weights.js';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** `{`: a safetensors header is a JSON object right after its 8-byte length. */
const JSON_OPEN_BRACE = 0x7b;

/** Removes a wrapper prefix (`module.`, `model.`) that every key carries. */
function stripCommonPrefix(keys: readonly string[]): { prefix: string; strip: (key: string) => string } {
  for (const prefix of VIT_STATE_DICT_PREFIXES) {
    if (keys.length > 0 && keys.every((key) => key.startsWith(prefix))) return { prefix, strip: (key) => key.slice(prefix.length) };
  }
  return { prefix: '', strip: (key) => key };
}

/**
 * Which reader a backbone checkpoint needs, from its first bytes: a zip is a PyTorch checkpoint;
 * a file named `.safetensors`, or one whose ninth byte opens a JSON header, is safetensors, so
 * that a broken safetensors header is reported as that (by the safetensors reader, naming the
 * file) rather than as some other format.
 */
async function detectFormat(path: string): Promise<'torch' | 'safetensors'> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new CheckpointError(`cannot open backbone checkpoint ${path}: ${(cause as Error).message}`, path, { cause });
  }
  const head = new Uint8Array(9);
  let length: number;
  try {
    ({ bytesRead: length } = await handle.read(head, 0, head.length, 0));
  } catch (cause) {
    throw new CheckpointError(`cannot read backbone checkpoint ${path}: ${(cause as Error).message}`, path, { cause });
  } finally {
    await handle.close();
  }
  if (length >= 4 && ZIP_MAGIC.every((byte, i) => head[i] === byte)) return 'torch';
  if (path.toLowerCase().endsWith('.safetensors') || (length === 9 && head[8] === JSON_OPEN_BRACE)) return 'safetensors';
  throw new CheckpointError(
    `${path}: expected a PyTorch zip checkpoint (.pth) or a safetensors file, got neither (legacy non-zip torch.save files are not supported: re-save with torch >= 1.6)`,
    path,
    { reason: 'unknown_format' },
  );
}

/** Opens a backbone checkpoint for one-tensor-at-a-time reads. */
export async function openVitTensorSource(path: string, options: LoadVitWeightsOptions = {}): Promise<VitTensorSource> {
  const format = options.format === undefined || options.format === 'auto' ? await detectFormat(path) : options.format;
  if (format === 'safetensors') {
    const file = await openSafetensors(path);
    const { strip, prefix } = stripCommonPrefix([...file.entries.keys()]);
    const shapes = new Map<string, readonly number[]>();
    for (const [name, entry] of file.entries) shapes.set(strip(name), entry.shape);
    return {
      shapes,
      description: path,
      path,
      async read(key) {
        return safetensorsToFloat32(await file.readTensor(prefix + key));
      },
      close: () => file.close(),
    };
  }
  const checkpoint = await openTorchCheckpoint(path);
  let refs: Map<string, TensorRef>;
  try {
    refs = checkpoint.findStateDict(VIT_STATE_DICT_CONTAINERS);
  } catch (error) {
    await checkpoint.close();
    throw error;
  }
  const { strip } = stripCommonPrefix([...refs.keys()]);
  const byKey = new Map([...refs].map(([name, ref]) => [strip(name), ref] as const));
  return {
    shapes: new Map([...byKey].map(([key, ref]) => [key, ref.shape] as const)),
    description: path,
    path,
    async read(key) {
      const ref = byKey.get(key);
      if (ref === undefined) throw new CheckpointError(`${path}: ${key}: expected a tensor, got no such key`, path);
      const tensor = await checkpoint.readTensor(ref);
      if (!(tensor.data instanceof Float32Array)) {
        throw new CheckpointError(`${path}: ${key}: expected a floating-point tensor, got ${tensor.dtype}`, path);
      }
      return tensor.data;
    },
    close: () => checkpoint.close(),
  };
}

/** Loads an official VideoMAE v2 `.pth` (state dict under `module`, `model` or bare) or a safetensors file. */
export async function loadVitWeights(path: string, config: VitConfig, options: LoadVitWeightsOptions = {}): Promise<VitWeights> {
  const source = await openVitTensorSource(path, options);
  try {
    return await vitWeightsFromSource(source, config);
  } finally {
    await source.close();
  }
}
