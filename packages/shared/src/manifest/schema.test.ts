import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core';
import type { PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig } from 'drizzle-orm/sqlite-core';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as sqliteSchema from './schema.js';
import * as pgSchema from './schema-pg.js';

/** The PostgreSQL column type each SQLite column type becomes (see schema-pg.ts). */
const TYPE_TWINS: Record<string, string[]> = {
  SQLiteText: ['PgText'],
  SQLiteInteger: ['PgInteger', 'PgSerial', 'PgBigInt53'],
  SQLiteTimestamp: ['PgTimestamp'],
  SQLiteBoolean: ['PgBoolean'],
  SQLiteReal: ['PgDoublePrecision'],
};

/** What both dialects' `getTableConfig` give, as far as the comparison needs it. */
interface TableShape {
  name: string;
  columns: ReadonlyArray<{
    name: string;
    columnType: string;
    notNull: boolean;
    primary: boolean;
    enumValues?: readonly string[] | undefined;
  }>;
  primaryKeys: ReadonlyArray<{ columns: ReadonlyArray<{ name: string }> }>;
  indexes: ReadonlyArray<{ config: { name?: string | undefined; unique: boolean; columns: readonly unknown[] } }>;
  foreignKeys: ReadonlyArray<{
    reference(): { columns: ReadonlyArray<{ name: string }>; foreignColumns: ReadonlyArray<{ name: string }> };
  }>;
  checks: ReadonlyArray<{ name: string }>;
}

function describeTable(config: TableShape) {
  return {
    name: config.name,
    columns: config.columns.map((c) => ({
      name: c.name,
      key: c.columnType,
      notNull: c.notNull,
      primary: c.primary,
      enum: c.enumValues ?? [],
    })),
    primaryKeys: config.primaryKeys.map((pk) => pk.columns.map((c) => c.name)),
    indexes: config.indexes.map((i) => ({
      name: i.config.name,
      unique: i.config.unique,
      on: i.config.columns.map((c) => (c as { name: string }).name),
    })),
    foreignKeys: config.foreignKeys
      .map((fk) => fk.reference())
      .map((r) => [r.columns.map((c) => c.name), r.foreignColumns.map((c) => c.name)]),
    checks: config.checks.map((c) => c.name),
  };
}

/** Each table of schema.ts beside its twin in schema-pg.ts. */
const TWINS: ReadonlyArray<[string, SQLiteTable, PgTable]> = [
  ['clips', sqliteSchema.clips, pgSchema.clips],
  ['clipSources', sqliteSchema.clipSources, pgSchema.clipSources],
  ['splitMembers', sqliteSchema.splitMembers, pgSchema.splitMembers],
  ['labelMaps', sqliteSchema.labelMaps, pgSchema.labelMaps],
  ['runs', sqliteSchema.runs, pgSchema.runs],
  ['ingestIssues', sqliteSchema.ingestIssues, pgSchema.ingestIssues],
  ['artifacts', sqliteSchema.artifacts, pgSchema.artifacts],
];

describe('the manifest schema in both dialects', () => {
  it('has the same tables in schema.ts and schema-pg.ts', () => {
    expect(Object.keys(pgSchema).sort()).toEqual(Object.keys(sqliteSchema).sort());
    expect(TWINS.map(([name]) => name).sort()).toEqual(Object.keys(sqliteSchema).sort());
  });

  it.each(TWINS)('%s agrees column by column: names, types, nullability, keys, indexes', (_name, sqliteTable, pgTable) => {
    const lite = describeTable(sqliteTableConfig(sqliteTable));
    const pg = describeTable(pgTableConfig(pgTable));
    expect(pg.name).toBe(lite.name);
    expect(pg.columns.map((c) => c.name)).toEqual(lite.columns.map((c) => c.name));
    for (const [i, column] of lite.columns.entries()) {
      const twin = pg.columns[i];
      expect(TYPE_TWINS[column.key], `${lite.name}.${column.name}: ${column.key} vs ${twin?.key}`).toContain(twin?.key);
      expect(twin?.notNull, `${lite.name}.${column.name} not null`).toBe(column.notNull);
      expect(twin?.primary, `${lite.name}.${column.name} primary key`).toBe(column.primary);
      expect(twin?.enum, `${lite.name}.${column.name} enum`).toEqual(column.enum);
    }
    expect(pg.primaryKeys).toEqual(lite.primaryKeys);
    expect(pg.indexes).toEqual(lite.indexes);
    expect(pg.foreignKeys).toEqual(lite.foreignKeys);
    expect(pg.checks).toEqual(lite.checks);
  });
});
