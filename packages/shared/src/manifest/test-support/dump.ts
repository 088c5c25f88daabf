import Database from 'better-sqlite3';

/**
 * Every row of every manifest table (runs, clips, artifacts, ingest issues, ...), in a stable
 * order, as text: tests compare it before and after a command that must change nothing. Reads a
 * SQLite manifest file directly (the commands' tests run on SQLite; the store's own tests cover
 * PostgreSQL), so that a dump never goes through the store it checks.
 */
export function dumpManifest(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")
      .all() as Array<{ name: string }>;
    return tables.map(({ name }) => `${name}\n${JSON.stringify(db.prepare(`select * from "${name}" order by rowid`).all())}`).join('\n');
  } finally {
    db.close();
  }
}
