import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import { postgresForTests, startPostgres } from '../manifest/test-support/postgres-server.js';
import type { PostgresServer } from '../manifest/test-support/postgres-server.js';
import type { ArtifactRow } from '../manifest/types.js';
import { workspaceRoot } from '../paths/index.js';
import { ARTIFACT_CATALOGUE, ARTIFACT_KINDS, ARTIFACT_RECORD_FILE } from '../pipeline/catalogue.js';
import { seededUniform } from '../random/index.js';
import { readArtifactRecord } from './produce-artifact.js';
import type { ProducerCase } from './test-support/items.js';
import { PRODUCER_CASES, crashPhases, producerCase } from './test-support/items.js';

/*
 * The crash, kill and concurrency tests of the one helper every stage makes its artifacts with,
 * once per kind of the artifact catalogue (and once more for features registered rather than
 * written, as import-features does): stand-in stages run the real `ensureArtifact` in child
 * processes that are SIGKILLed after each step of the protocol and at random moments, and two of
 * them run at once over one manifest.
 */

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-support', 'producer-child.ts');
const repoRoot = workspaceRoot();

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Child {
  /** Resolves once the child printed `ready` (manifest open, run started, temp files swept). */
  ready: Promise<void>;
  done: Promise<ChildResult>;
  go(): void;
  kill(): void;
}

function startChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
    if (stdout.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const done = new Promise<ChildResult>((resolve) => {
    // 'close' comes after the process is reaped, so its pid reads as dead from then on.
    child.on('close', (code, signal) => {
      markReady();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    ready,
    done,
    go: () => child.stdin.write('go\n'),
    kill: () => child.kill('SIGKILL'),
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The path the manifest records for an item: its file, or its folder's record. */
function recordedPathOf(kind: ProducerCase, dataDir: string, item: number): string {
  const target = kind.target(dataDir, item);
  return kind.mode === 'folder' ? path.join(target, ARTIFACT_RECORD_FILE) : target;
}

/**
 * The manifest is consistent: every `done` row's recorded file exists with the recorded size and
 * hash, and what it stands for is complete: the item's own bytes, or for a folder, a record listing
 * exactly the item's files, each on disk with the listed size, hash and the item's bytes.
 */
async function expectDoneRowsIntact(kind: ProducerCase, manifestPath: string, dataDir: string): Promise<ArtifactRow[]> {
  const store = await ManifestStore.open(manifestPath);
  try {
    const done = await store.artifacts.listArtifacts({ kind: kind.kind, status: 'done' });
    for (const row of done) {
      const item = kind.itemOf(row);
      expect(row.path).toBe(recordedPathOf(kind, dataDir, item));
      expect(existsSync(row.path), `${row.path} of a done row`).toBe(true);
      const recorded = readFileSync(row.path);
      expect(recorded.length).toBe(row.bytes);
      expect(sha256(recorded)).toBe(row.contentHash);
      const files = kind.files(item);
      if (kind.mode !== 'folder') {
        expect(sha256(recorded)).toBe(sha256(files[0]!.bytes));
        continue;
      }
      const record = await readArtifactRecord(row.path);
      expect(record.files).toEqual(files.map((f) => ({ path: f.name, bytes: f.bytes.length, sha256: sha256(f.bytes) })));
      for (const f of files) expect(sha256(readFileSync(path.join(path.dirname(row.path), f.name))), f.name).toBe(sha256(f.bytes));
    }
    return done;
  } finally {
    await store.close();
  }
}

/** Temp files anywhere under `dir`. */
function tempFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith('.tmp'));
}

function producedLog(logPath: string): Map<number, number> {
  const counts = new Map<number, number>();
  if (!existsSync(logPath)) return counts;
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (line === '') continue;
    const item = Number(line.split(' ')[0]);
    counts.set(item, (counts.get(item) ?? 0) + 1);
  }
  return counts;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

it('runs the crash and concurrency tests for every kind of the artifact catalogue, and for registered features', async () => {
  expect([...new Set(PRODUCER_CASES.map((name) => producerCase(name).kind))].sort()).toEqual([...ARTIFACT_KINDS].sort());
  expect(PRODUCER_CASES.map((name) => producerCase(name).mode)).toEqual(['file', 'register', 'folder', 'folder', 'folder', 'folder']);
  for (const name of PRODUCER_CASES) {
    const kind = producerCase(name);
    expect(kind.mode === 'folder', name).toBe(ARTIFACT_CATALOGUE[kind.kind].layout === 'folder');
  }
});

/*
 * Every case on SQLite; on PostgreSQL (where a private server can be started) the features case,
 * the one several machines share: the protocol code is the same, the database's locking is not.
 */
const postgres = postgresForTests();
const RUNS: Array<[string, 'sqlite' | 'postgres']> = [
  ...PRODUCER_CASES.map((name) => [name, 'sqlite'] as [string, 'sqlite']),
  ...(postgres.available ? [['features', 'postgres'] as [string, 'postgres']] : []),
];
let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgres.available) server = await startPostgres(postgres);
});
afterAll(async () => server?.stop());

describe.each(RUNS)('produceArtifact under crashes and concurrency: %s on %s', (name, backend) => {
  const kind = producerCase(name);
  const stage = ARTIFACT_CATALOGUE[kind.kind].stage;
  let dir: string;
  let manifestPath: string;
  let dataDir: string;
  let logPath: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `pthnet-crash-${name}-`));
    manifestPath = backend === 'sqlite' ? path.join(dir, 'manifest.sqlite') : await server!.createDatabase();
    dataDir = path.join(dir, 'data');
    logPath = path.join(dir, 'produced.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('never records done for a missing or partial artifact when killed at any step, and reruns finish the work', async () => {
    const itemCount = 12;
    const base = { CASE: name, MANIFEST: manifestPath, DATA_DIR: dataDir, PRODUCE_LOG: logPath, ITEM_COUNT: String(itemCount) };
    let crashes = 0;

    // Deterministic kills right after each step of the protocol, on different items.
    const crashPoints = crashPhases(kind.mode).map((phase, i) => [phase, 2 * i + 1] as const);
    for (const [phase, item] of crashPoints) {
      const result = await startChild({ ...base, CRASH_PHASE: phase, CRASH_ITEM: String(item) }).done;
      expect(result.signal, result.stderr).toBe('SIGKILL');
      crashes++;
      const done = await expectDoneRowsIntact(kind, manifestPath, dataDir);
      // Items before the crash point are done (earlier runs made some; this run made the rest), the crashed one is not.
      expect(done.map((row) => kind.itemOf(row)).sort((a, b) => a - b)).toEqual(upTo(item));
      const store = await ManifestStore.open(manifestPath);
      try {
        expect(await store.artifacts.getArtifact(kind.identity(item))).toMatchObject({ status: 'pending' });
      } finally {
        await store.close();
      }
      // Killed between the temp file's write and its rename, it is left for the next run to sweep
      // (each run sweeps at its start, so only this run's one is there): a file's bytes, or a folder's record.
      const tempLeft =
        (kind.mode === 'file' && (phase === 'written' || phase === 'synced')) || (kind.mode === 'folder' && phase === 'synced');
      expect(tempFilesUnder(dataDir), phase).toHaveLength(tempLeft ? 1 : 0);
      if (phase === 'renamed') {
        // The file (or the folder's record) is in place but the row is not done: the next run must redo it, not trust it.
        expect(existsSync(recordedPathOf(kind, dataDir, item))).toBe(true);
      }
    }

    // Kills at random moments while writes are slow (chunks written 15 ms apart), seeded, so the
    // kill delays are the same on every run.
    const random = seededUniform(12345);
    for (let attempt = 0; attempt < 2; attempt++) {
      const child = startChild({ ...base, CHUNK_DELAY_MS: '15' });
      await child.ready;
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.floor(random() * 200)));
      child.kill();
      const result = await child.done;
      if (result.signal === 'SIGKILL' && !result.stdout.includes('finished\n')) crashes++;
      await expectDoneRowsIntact(kind, manifestPath, dataDir);
    }

    // A clean rerun completes every item and sweeps every stale temp file.
    const final = await startChild(base).done;
    expect(final.code, final.stderr).toBe(0);
    const done = await expectDoneRowsIntact(kind, manifestPath, dataDir);
    expect(done.map((row) => kind.itemOf(row)).sort((a, b) => a - b)).toEqual(upTo(itemCount));
    expect(tempFilesUnder(dataDir)).toEqual([]);
    for (let item = 0; item < itemCount; item++) {
      const target = kind.target(dataDir, item);
      if (kind.mode === 'folder') {
        expect(readdirSync(target).sort()).toEqual([...kind.files(item).map((f) => f.name), ARTIFACT_RECORD_FILE].sort());
      } else {
        expect(statSync(target).size).toBe(kind.files(item)[0]!.bytes.length);
      }
    }
    const store = await ManifestStore.open(manifestPath);
    try {
      const summary = await store.status.summary();
      const bytes = done.reduce((sum, row) => sum + statSync(row.path).size, 0);
      expect(summary.stages).toEqual([{ stage, done: itemCount, stale: 0, failed: 0, pending: 0, missing: 0, total: itemCount, bytes }]);
      const runs = await store.runs.listRuns({ stage: kind.runStage });
      expect(runs.filter((run) => run.outcome === 'interrupted')).toHaveLength(crashes);
      expect(runs.filter((run) => run.outcome === 'ok')).toHaveLength(runs.length - crashes);
    } finally {
      await store.close();
    }
  });

  it('gives every item to exactly one of two processes running the same stage at once', async () => {
    const itemCount = 40;
    const env = {
      CASE: name,
      MANIFEST: manifestPath,
      DATA_DIR: dataDir,
      PRODUCE_LOG: logPath,
      ITEM_COUNT: String(itemCount),
      CHUNK_DELAY_MS: '1',
      WAIT_FOR_GO: '1',
    };
    // Both open the fresh manifest at once, so they also race on creating the schema.
    const children = [startChild(env), startChild(env)];
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.go();
    const results = await Promise.all(children.map((child) => child.done));
    for (const result of results) expect(result.code, result.stderr).toBe(0);

    const produced = producedLog(logPath);
    expect([...produced.keys()].sort((a, b) => a - b)).toEqual(upTo(itemCount));
    expect([...produced.values()].every((times) => times === 1)).toBe(true);
    const counts = results.map((result) => JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { produced: number });
    expect(counts.reduce((sum, c) => sum + c.produced, 0)).toBe(itemCount);

    const done = await expectDoneRowsIntact(kind, manifestPath, dataDir);
    expect(done).toHaveLength(itemCount);
    expect(done.every((row) => row.attempts === 1)).toBe(true);
    if (backend === 'sqlite') {
      const sqlite = new Database(manifestPath, { readonly: true });
      try {
        expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(sqlite.pragma('foreign_key_check')).toEqual([]);
      } finally {
        sqlite.close();
      }
    }
  });
});
