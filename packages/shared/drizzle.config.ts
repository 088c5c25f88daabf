// drizzle-kit config for the manifest: `pnpm db:generate` (from the repo root) writes a new
// migration into packages/shared/drizzle/ after packages/shared/src/manifest/schema.ts changes.
// Paths are found from this file, so the command works from the root or from packages/shared;
// they are handed over relative to the cwd because drizzle-kit prefixes `./` to `out` when it
// reads earlier snapshots, which breaks absolute paths.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';

const packageDir = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  dialect: 'sqlite',
  schema: path.relative(process.cwd(), path.join(packageDir, 'src/manifest/schema.ts')),
  out: path.relative(process.cwd(), path.join(packageDir, 'drizzle')),
  strict: true,
  verbose: true,
});
