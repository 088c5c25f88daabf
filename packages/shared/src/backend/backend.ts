import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors/index.js';
import { shareWasmIdentity } from './kernel-swaps.js';
import { enableNativeGemm, nativeGemmStatus } from './native-gemm.js';
import { AUTO_ORDER, BACKEND_PACKAGES, BACKEND_PREFERENCES, NATIVE_BINDING_FILE, TFJS_BACKEND_NAMES } from './constants.js';
import type { BackendAttempt, BackendName, BackendPreference, NativeGemmStatus, SelectedBackend } from './types.js';

const requireFromHere = createRequire(import.meta.url);

/**
 * The tfjs-node packages throw at import time when their native addon was never built, and a
 * failed import still leaves half their kernels registered (with a warning per kernel). So look
 * for the addon on disk first and only import a package that can work.
 */
function findNativeBinding(packageName: string): string {
  let packageJson: string;
  try {
    packageJson = requireFromHere.resolve(`${packageName}/package.json`);
  } catch (error) {
    throw new Error(`${packageName} is not installed`, { cause: error });
  }
  const libDir = path.join(path.dirname(packageJson), 'lib');
  const napiDirs = existsSync(libDir) ? readdirSync(libDir).filter((entry) => entry.startsWith('napi-v')) : [];
  for (const dir of napiDirs) {
    const binding = path.join(libDir, dir, NATIVE_BINDING_FILE);
    if (existsSync(binding)) return binding;
  }
  throw new Error(
    `${packageName}: native addon ${NATIVE_BINDING_FILE} is not built under ${libDir} ` +
      `(its install script did not run; 'npm rebuild ${packageName} --build-addon-from-source' builds it)`,
  );
}

async function loadBackendPackage(name: BackendName): Promise<void> {
  const packageName = BACKEND_PACKAGES[name];
  if (name === 'node' || name === 'node-gpu') findNativeBinding(packageName);
  try {
    await import(packageName);
  } catch (error) {
    throw new Error(`cannot import ${packageName}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

async function activate(name: BackendName): Promise<void> {
  await loadBackendPackage(name);
  const tfjsName = TFJS_BACKEND_NAMES[name];
  if (tf.findBackendFactory(tfjsName) === null && tf.findBackend(tfjsName) === null) {
    throw new Error(`${BACKEND_PACKAGES[name]} was imported but registered no '${tfjsName}' backend`);
  }
  const ok = await tf.setBackend(tfjsName);
  if (!ok) throw new Error(`tfjs could not initialise the '${tfjsName}' backend`);
  await tf.ready();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface SelectBackendOptions {
  /**
   * OpenBLAS threads for the wasm backend's matMuls (process-wide; default: every core).
   * Data-parallel workers, one per core, ask for 1.
   */
  gemmThreads?: number;
}

/** One line for logs: the backend, and on wasm whether its matMuls run on OpenBLAS. */
export function describeBackend(selected: Pick<SelectedBackend, 'name' | 'gemm'>): string {
  const gemm = selected.gemm;
  if (gemm === undefined) return selected.name;
  if (gemm.active) return `${selected.name} + ${gemm.library} sgemm (${gemm.core}, ${gemm.threads} thread${gemm.threads === 1 ? '' : 's'})`;
  return `${selected.name} (own matMul: ${gemm.reason})`;
}

let lastSelected: SelectedBackend | null = null;

/** `describeBackend` of the backend running now (tfjs's own name where `selectBackend` did not pick it). */
export function describeActiveBackend(): string {
  const tfjsName = tf.getBackend();
  if (tfjsName === 'wasm') return describeBackend({ name: 'wasm', gemm: nativeGemmStatus() });
  return lastSelected?.tfjsName === tfjsName ? describeBackend(lastSelected) : tfjsName;
}

/**
 * Makes one tfjs backend the active one for the single `@tensorflow/tfjs-core` instance and
 * says which. `auto` tries node-gpu, node, wasm, cpu in that order, skipping quietly over those
 * that cannot load here; an explicit choice that cannot load is a `ConfigError` saying why.
 * On wasm, the matMul kernels move to OpenBLAS where the native addon is built (`gemm` says).
 */
export async function selectBackend(preference: BackendPreference = 'auto', options: SelectBackendOptions = {}): Promise<SelectedBackend> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new ConfigError(`backend: expected one of ${BACKEND_PREFERENCES.join(', ')}, got ${JSON.stringify(preference)}`);
  }
  const candidates = preference === 'auto' ? AUTO_ORDER : [preference];
  const tried: BackendAttempt[] = [];
  for (const name of candidates) {
    try {
      await activate(name);
      tried.push({ name });
      if (name === 'wasm') shareWasmIdentity();
      const gemm: NativeGemmStatus | undefined = name === 'wasm' ? enableNativeGemm(options.gemmThreads) : undefined;
      lastSelected = { name, tfjsName: tf.getBackend(), tried, ...(gemm ? { gemm } : {}) };
      return lastSelected;
    } catch (error) {
      tried.push({ name, error: describe(error) });
      if (preference !== 'auto') {
        throw new ConfigError(`backend: '${name}' cannot be used on this machine: ${describe(error)}`, { cause: error });
      }
    }
  }
  // cpu is pure JavaScript and always loads, so reaching this means tfjs-core itself is broken.
  throw new ConfigError(`backend: no tfjs backend could be loaded (${tried.map((t) => `${t.name}: ${t.error}`).join('; ')})`);
}
