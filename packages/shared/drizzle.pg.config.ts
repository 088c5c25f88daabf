// drizzle-kit config for the manifest on PostgreSQL: `pnpm db:generate` (from the repo root) runs it
// after drizzle.config.ts, writing packages/shared/drizzle-pg/ from src/manifest/schema-pg.ts.
// Paths are relative to the cwd for the reason given in drizzle.config.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';

const packageDir = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  dialect: 'postgresql',
  schema: path.relative(process.cwd(), path.join(packageDir, 'src/manifest/schema-pg.ts')),
  out: path.relative(process.cwd(), path.join(packageDir, 'drizzle-pg')),
  strict: true,
  verbose: true,
});
