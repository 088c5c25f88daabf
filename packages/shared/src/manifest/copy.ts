import { createHash } from 'node:crypto';
import { count } from 'drizzle-orm';
import { ManifestError } from '../errors/index.js';
import type { ManifestTables } from './backend.js';
import { backendOf } from './store.js';
import type { ManifestStore } from './store.js';

/** The manifest's tables in an order that inserts every row after the rows it refers to; each with its key columns. */
const TABLES: ReadonlyArray<{ name: keyof ManifestTables; key: readonly string[] }> = [
  { name: 'clips', key: ['id'] },
  { name: 'clipSources', key: ['clipId', 'kind'] },
  { name: 'splitMembers', key: ['dataset', 'split', 'clipId'] },
  { name: 'labelMaps', key: ['dataset', 'index'] },
  { name: 'runs', key: ['id'] },
  { name: 'ingestIssues', key: ['id'] },
  { name: 'artifacts', key: ['id'] },
];

/** Rows per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters at the widest table (29 columns). */
const COPY_BATCH_ROWS = 500;

export interface TableCopy {
  table: string;
  rows: number;
  /** sha256 of the table's rows in key order, values as the manifest reads them (the same on either database). */
  hash: string;
}

/**
 * Copies every row of `from` into `to` (an empty manifest, SQLite or PostgreSQL, either way),
 * then reads both back and compares, table by table, the row count and a content hash of every
 * row. Throws a `ManifestError` naming the first table that differs; returns the verified figures.
 */
export async function copyManifest(
  from: ManifestStore,
  to: ManifestStore,
  progress: { total(rows: number): void; copied(table: string, rows: number): void } = { total: () => undefined, copied: () => undefined },
): Promise<TableCopy[]> {
  const source = backendOf(from);
  const target = backendOf(to);
  let total = 0;
  for (const { name } of TABLES) {
    const [row] = await source.db.select({ n: count() }).from(source.tables[name]);
    total += row?.n ?? 0;
  }
  progress.total(total);
  for (const { name } of TABLES) {
    const table = target.tables[name];
    const [row] = await target.db.select({ n: count() }).from(table);
    if ((row?.n ?? 0) > 0) {
      throw new ManifestError(`manifest migrate --to ${to.path}: expected an empty manifest, got ${row?.n} rows in ${name}`);
    }
  }
  await target.transaction(async () => {
    for (const { name } of TABLES) {
      const rows = await source.db.select().from(source.tables[name]);
      for (let start = 0; start < rows.length; start += COPY_BATCH_ROWS) {
        const batch = rows.slice(start, start + COPY_BATCH_ROWS);
        // biome-ignore lint/suspicious/noExplicitAny: the same table of the same schema on both sides; drizzle cannot see through the name lookup
        await target.db.insert(target.tables[name] as any).values(batch as any);
        progress.copied(name, batch.length);
      }
    }
    await target.resetIdentities();
  });
  const copied: TableCopy[] = [];
  for (const { name, key } of TABLES) {
    const [expected, actual] = [await tableDigest(from, name, key), await tableDigest(to, name, key)];
    if (expected.rows !== actual.rows || expected.hash !== actual.hash) {
      throw new ManifestError(
        `manifest migrate --to ${to.path}: ${name}: expected ${expected.rows} rows (sha256 ${expected.hash}), got ${actual.rows} (sha256 ${actual.hash})`,
      );
    }
    copied.push({ table: name, ...expected });
  }
  return copied;
}

/** Row count and content hash of one table, independent of the database (values as drizzle maps them). */
async function tableDigest(
  store: ManifestStore,
  name: keyof ManifestTables,
  key: readonly string[],
): Promise<{ rows: number; hash: string }> {
  const backend = backendOf(store);
  const rows = (await backend.db.select().from(backend.tables[name])) as Array<Record<string, unknown>>;
  const keyOf = (row: Record<string, unknown>) => JSON.stringify(key.map((column) => row[column]));
  // Sorted here, not by the database: SQLite and PostgreSQL collate text differently.
  rows.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const hash = createHash('sha256');
  for (const row of rows) {
    const columns = Object.keys(row).sort();
    hash.update(JSON.stringify(columns.map((column) => normalize(row[column]))));
    hash.update('\n');
  }
  return { rows: rows.length, hash: hash.digest('hex') };
}

function normalize(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : value;
}
