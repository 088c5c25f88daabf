/**
 * A private PostgreSQL server for the manifest's tests: its own port and temp data directory,
 * started from the system's binaries (Debian's `postgresql` package, which `.ci/run` installs),
 * stopped and removed afterwards. Where no server binaries are found the tests that need one
 * skip with the reason printed; under `CI` that is a failure instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** The server's superuser (trust authentication: the socket and port are private to the test). */
const SUPERUSER = 'pthnet';
/** The system user that runs the server when the tests run as root (PostgreSQL refuses to run as root). */
const SERVER_USER = 'postgres';

export type PostgresAvailability = { available: true; bindir: string; runAs: string | null } | { available: false; reason: string };

/** Whether a server can be started here, and how. */
function findPostgres(): PostgresAvailability {
  const bindir = postgresBindir();
  if (bindir === undefined) {
    return {
      available: false,
      reason: "no PostgreSQL server binaries (initdb, postgres) found: install Debian's `postgresql` package (.ci/run does)",
    };
  }
  if (process.getuid?.() !== 0) return { available: true, bindir, runAs: null };
  try {
    execFileSync('id', ['-u', SERVER_USER], { stdio: 'ignore' });
  } catch {
    return { available: false, reason: `running as root and no "${SERVER_USER}" user to run the server as (postgres refuses root)` };
  }
  return { available: true, bindir, runAs: SERVER_USER };
}

function postgresBindir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(path.join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return path.join(debian, versions[0], 'bin');
  }
  try {
    const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(path.join(bindir, 'initdb'))) return bindir;
  } catch {
    // no pg_config on PATH
  }
  return undefined;
}

/**
 * The PostgreSQL backend's place in `describe.each` tables: present where a server can be
 * started, else left out with the reason printed (and a thrown error under CI, where it must run).
 */
export function postgresForTests(): PostgresAvailability {
  const found = findPostgres();
  if (!found.available) {
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
      throw new Error(`PostgreSQL manifest tests cannot run under CI: ${found.reason}`);
    }
    console.warn(`[manifest tests] PostgreSQL backend skipped: ${found.reason}`);
  }
  return found;
}

export interface PostgresServer {
  readonly port: number;
  /** A fresh, empty database on this server; its URL. */
  createDatabase(): Promise<string>;
  /**
   * Waits until no server process serves a client that connected with `application_name`
   * (a URL's `?application_name=`): after a client is killed, the server may still be finishing
   * what it sent last (a commit), which a test must see before it reads the database.
   */
  waitForDisconnect(applicationName: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

let databaseCounter = 0;

/** Starts a private server (initdb in a temp dir, a free port, fsync off: test data is disposable). */
export async function startPostgres(found: Extract<PostgresAvailability, { available: true }>): Promise<PostgresServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'pthnet-pg-'));
  chmodSync(root, 0o777);
  const dataDir = path.join(root, 'data');
  const asServerUser = (command: string, args: string[]): [string, string[]] =>
    found.runAs === null ? [command, args] : ['runuser', ['-u', found.runAs, '--', command, ...args]];
  const [initCommand, initArgs] = asServerUser(path.join(found.bindir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    SUPERUSER,
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initCommand, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const [command, args] = asServerUser(path.join(found.bindir, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    root,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const server: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (data: Buffer) => (log += data.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(adminUrl, server, () => log);
  return {
    port,
    async createDatabase() {
      const name = `manifest_${process.pid}_${++databaseCounter}`;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`;
    },
    async waitForDisconnect(applicationName: string, timeoutMs = 10_000) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
            [applicationName],
          );
          if (rows[0]?.n === 0) return;
          if (Date.now() > deadline) throw new Error(`PostgreSQL still serves ${applicationName} after ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (server.exitCode === null) {
        // pg_ctl, not a signal: under runuser the signal would reach runuser, not the server.
        // Immediate shutdown: the data is thrown away next.
        const [stopCommand, stopArgs] = asServerUser(path.join(found.bindir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate']);
        execFileSync(stopCommand, stopArgs, { stdio: 'ignore' });
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`PostgreSQL exited at start (${server.exitCode}): ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline)
        throw new Error(`PostgreSQL did not accept connections within 30 s: ${(error as Error).message}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
