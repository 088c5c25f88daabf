import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from './liveness.js';
import { cleanStaleTempFiles, tempPathFor, writeFileAtomic, writeFully } from './write-file-atomic.js';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('could not spawn');
  return child.pid;
}

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes bytes, strings or through a handle, creating folders and leaving no temp file', async () => {
    const target = path.join(dir, 'a', 'b', 'out.bin');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    await writeFileAtomic(target, 'replaced');
    expect(readFileSync(target, 'utf8')).toBe('replaced');
    await writeFileAtomic(target, async (handle) => {
      await handle.write('part one, ');
      await handle.write('part two');
    });
    expect(readFileSync(target, 'utf8')).toBe('part one, part two');
    expect(readdirSync(path.dirname(target))).toEqual(['out.bin']);
  });

  it('keeps the old file and removes the temp file when the writer fails', async () => {
    const target = path.join(dir, 'keep.txt');
    writeFileSync(target, 'old content');
    await expect(
      writeFileAtomic(target, async (handle) => {
        await handle.write('half of the new');
        throw new Error('writer crashed');
      }),
    ).rejects.toThrow('writer crashed');
    expect(readFileSync(target, 'utf8')).toBe('old content');
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('names temp files <name>.<pid>.<random>.tmp beside the target', () => {
    const temp = tempPathFor(path.join(dir, 'x.npy'));
    expect(path.dirname(temp)).toBe(dir);
    expect(path.basename(temp)).toMatch(new RegExp(`^x\\.npy\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
    expect(tempPathFor(path.join(dir, 'x.npy'))).not.toBe(temp);
  });
});

describe('writeFully', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-fully-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes at a position or at the current one, returning the position after', async () => {
    const target = path.join(dir, 'pieces.bin');
    const ends: number[] = [];
    await writeFileAtomic(target, async (handle) => {
      ends.push(await writeFully(handle, new Uint8Array([9, 9, 9]), 2));
      ends.push(await writeFully(handle, new Uint8Array([1, 2]), 0));
      ends.push(await writeFully(handle, new Uint8Array([7]), ends[0]));
    });
    expect(ends).toEqual([5, 2, 6]);
    expect([...readFileSync(target)]).toEqual([1, 2, 9, 9, 9, 7]);
    await writeFileAtomic(target, async (handle) => {
      await writeFully(handle, new Uint8Array([4, 5]));
      await writeFully(handle, new Uint8Array([6]));
    });
    expect([...readFileSync(target)]).toEqual([4, 5, 6]);
  });

  it('loops over short writes until every byte is written', async () => {
    const written: Array<{ offset: number; length: number; position: number | null }> = [];
    const out = new Uint8Array(10);
    // A handle that writes at most 3 bytes per call, as a real write(2) may.
    const handle = {
      async write(buffer: Uint8Array, offset: number, length: number, position: number | null) {
        const bytesWritten = Math.min(length, 3);
        written.push({ offset, length, position });
        out.set(buffer.subarray(offset, offset + bytesWritten), position ?? 0);
        return { bytesWritten, buffer };
      },
    } as unknown as FileHandle;
    expect(
      await writeFully(
        handle,
        Uint8Array.from({ length: 8 }, (_, i) => i + 1),
        2,
      ),
    ).toBe(10);
    expect([...out]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(written).toEqual([
      { offset: 0, length: 8, position: 2 },
      { offset: 3, length: 5, position: 5 },
      { offset: 6, length: 2, position: 8 },
    ]);
  });
});

describe('cleanStaleTempFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-clean-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("removes temp files of dead writers and old ones, keeps live writers' and this process's", async () => {
    const dead = deadPid();
    expect(isProcessAlive(dead)).toBe(false);
    expect(isProcessAlive(process.pid)).toBe(true);
    const livePid = process.ppid;
    mkdirSync(path.join(dir, 'sub'));
    const files = {
      dead: path.join(dir, `a.npy.${dead}.0123456789ab.tmp`),
      deadNested: path.join(dir, 'sub', `b.npy.${dead}.0123456789ab.tmp`),
      own: path.join(dir, `c.npy.${process.pid}.0123456789ab.tmp`),
      live: path.join(dir, `d.npy.${livePid}.0123456789ab.tmp`),
      liveButOld: path.join(dir, `e.npy.${livePid}.abcdefabcdef.tmp`),
      notOurs: path.join(dir, 'notes.tmp'),
      data: path.join(dir, 'a.npy'),
    };
    for (const file of Object.values(files)) writeFileSync(file, 'x');
    const twoDaysAgo = (Date.now() - 2 * 24 * 60 * 60_000) / 1000;
    utimesSync(files.liveButOld, twoDaysAgo, twoDaysAgo);

    expect((await cleanStaleTempFiles(dir)).sort()).toEqual([files.dead, files.liveButOld].sort());
    expect(existsSync(files.deadNested)).toBe(true);
    expect(await cleanStaleTempFiles(dir, { recursive: true })).toEqual([files.deadNested]);
    for (const kept of [files.own, files.live, files.notOurs, files.data]) expect(existsSync(kept)).toBe(true);
    expect(await cleanStaleTempFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});
