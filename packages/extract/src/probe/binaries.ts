import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InputError } from 'shared';
import { FFMPEG_PATH_ENV, FFPROBE_PATH_ENV } from './constants.js';
import type { MediaBinaries } from './types.js';

const require = createRequire(import.meta.url);

function executableOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, process.platform === 'win32' ? `${name}.exe` : name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function bundled(packageName: string): string | undefined {
  try {
    return (require(packageName) as { path: string }).path;
  } catch {
    // The installer packages throw on platforms they have no binary for.
    return undefined;
  }
}

function findOne(name: string, envKey: string, packageName: string, env: NodeJS.ProcessEnv): string {
  const chosen = env[envKey] || executableOnPath(name, env['PATH'] ?? '') || bundled(packageName);
  if (!chosen) {
    throw new InputError(`${name}: expected it in $${envKey}, on PATH or from ${packageName}, found none`);
  }
  return chosen;
}

/**
 * ffmpeg and ffprobe: `$FFMPEG_PATH`/`$FFPROBE_PATH` when set, else the system's on PATH (usually
 * newer, with more codecs), else the static builds from @ffmpeg-installer / @ffprobe-installer.
 */
export function findMediaBinaries(env: NodeJS.ProcessEnv = process.env): MediaBinaries {
  return {
    ffmpeg: findOne('ffmpeg', FFMPEG_PATH_ENV, '@ffmpeg-installer/ffmpeg', env),
    ffprobe: findOne('ffprobe', FFPROBE_PATH_ENV, '@ffprobe-installer/ffprobe', env),
  };
}

let cached: MediaBinaries | undefined;

/** `findMediaBinaries()` for this process, looked up once. */
export function resolveMediaBinaries(): MediaBinaries {
  cached ??= findMediaBinaries();
  return cached;
}
