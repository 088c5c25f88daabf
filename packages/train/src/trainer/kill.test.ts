/**
 * SIGKILLs training 20 times, at random moments and right between a checkpoint's weights and its
 * sidecar, resuming after each kill; the finished run must equal one that was never interrupted,
 * weight for weight and epoch for epoch.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPthNetCheckpoint } from 'model';
import { createRng } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureWorkspace } from '../stages/fixture.test-helper.js';

const CHILD = join(import.meta.dirname, 'test-support', 'train-child.ts');
const DATASET = 'raw_forward_train';

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(outDir: string, datasetDir: string, killAtRename: number, killAfterMs?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, datasetDir, DATASET, outDir, String(killAtRename)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const epochsOf = (log: string) =>
  log
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; epoch: number; loss: number; war: number })
    .filter((r) => r.type === 'epoch');

describe('training killed 20 times', () => {
  let work: string;
  let datasetDir: string;
  beforeAll(async () => {
    ({ work } = await fixtureWorkspace('pthnet-kill-', ['forward']));
    datasetDir = join(work, 'data/datasets', DATASET);
  });

  it('resumes after every kill, including between the weights and the sidecar, and ends as an uninterrupted run', async () => {
    const straightDir = join(work, 'straight');
    const straight = await runChild(straightDir, datasetDir, 0);
    expect(straight.stdout, straight.stderr).toContain('done');

    const killedDir = join(work, 'killed');
    const random = createRng(20261130);
    const kills: Array<{ how: string; reached: number }> = [];
    let fellBack = 0;
    for (let i = 0; i < 20; i++) {
      // even: right after the first or second `last.safetensors` rename of this process (its sidecar not yet
      // written); odd: at a random moment, from start-up to a few epochs in
      const between = i % 2 === 0;
      const run = between
        ? await runChild(killedDir, datasetDir, 1 + (i % 4 === 0 ? 1 : 0))
        : await runChild(killedDir, datasetDir, 0, 400 + random.nextInt(0, 2600));
      if (run.stdout.includes('done')) break;
      expect(run.signal, `kill ${i + 1}: ${run.stderr}`).toBe('SIGKILL');
      expect(run.stderr, `kill ${i + 1}`).not.toMatch(/cannot resume|Error/);
      if (run.stderr.includes('loaded the previous complete save')) fellBack += 1;
      const reached = run.stdout.match(/epoch (\d+)\n(?![\s\S]*epoch)/)?.[1];
      kills.push({ how: between ? 'between weights and sidecar' : 'random', reached: Number(reached ?? 0) });
    }
    expect(kills).toHaveLength(20);
    // every kill between the files left a half-written `last`; each following start took `last.prev`
    expect(fellBack).toBeGreaterThanOrEqual(9);

    const final = await runChild(killedDir, datasetDir, 0);
    expect(final.stdout, final.stderr).toContain('done');
    const a = await loadPthNetCheckpoint(join(straightDir, 'last.json'));
    const b = await loadPthNetCheckpoint(join(killedDir, 'last.json'));
    expect(b.epoch).toBe(a.epoch);
    for (const [key, t] of a.stateDict) expect(b.stateDict.get(key)?.data, key).toEqual(t.data);
    const straightEpochs = epochsOf(readFileSync(join(straightDir, 'log.jsonl'), 'utf8'));
    const killedEpochs = epochsOf(readFileSync(join(killedDir, 'log.jsonl'), 'utf8'));
    expect(killedEpochs.map((e) => [e.epoch, e.loss, e.war])).toEqual(straightEpochs.map((e) => [e.epoch, e.loss, e.war]));
  }, 600_000);
});
