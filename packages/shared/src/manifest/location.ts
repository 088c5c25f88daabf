import { existsSync } from 'node:fs';

/** Whether a manifest location names a PostgreSQL database rather than a SQLite file. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Whether there is a manifest to read: a server database always counts (it is created on first open), a file must exist. */
export function manifestExists(location: string): boolean {
  return isPostgresLocation(location) || existsSync(location);
}

/** The location without a URL's password, for messages and `status`. */
export function redactLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  try {
    const parsed = new URL(location);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return location.replace(/\/\/[^@/]*@/, '//***@');
  }
}
