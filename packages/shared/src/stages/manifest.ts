import type { Command } from 'commander';
import { stageCommand, stageContext } from '../cli/common.js';
import { ConfigError } from '../errors/index.js';
import { copyManifest } from '../manifest/copy.js';
import { ManifestStore, isPostgresLocation, manifestExists, redactLocation } from '../manifest/index.js';
import { createProgress } from '../progress/index.js';
import { resolve } from 'node:path';

/** What `pthnet manifest` does to the manifest as a whole. */
const ACTIONS = ['migrate'] as const;

export function command(): Command {
  const cmd = stageCommand(
    'manifest',
    'the manifest as a whole: `migrate --to <url or file>` copies it to PostgreSQL or SQLite and verifies the copy',
  )
    .argument('<action>', `what to do: ${ACTIONS.join(', ')}`)
    .requiredOption('--to <location>', 'where to copy the manifest: a postgres:// URL or a SQLite file (an empty or new one)')
    .addHelpText(
      'after',
      '\nCopies every row of the current manifest (`manifest` in the config, $PTHNET_MANIFEST_URL, or <data-dir>/manifest.sqlite)\n' +
        "into the new one, then checks each table's row count and content hash on both sides before reporting success.\n" +
        'Afterwards point `manifest` (or $PTHNET_MANIFEST_URL) at the new location.',
    );
  cmd.action(async (action: string, opts: { to: string }) => {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new ConfigError(`manifest <action>: expected one of ${ACTIONS.join(', ')}, got "${action}"`);
    }
    const ctx = stageContext(cmd);
    const to = isPostgresLocation(opts.to) ? opts.to : resolve(process.cwd(), opts.to);
    if (to === ctx.manifest) throw new ConfigError(`--to: expected another manifest than the current one, got ${redactLocation(to)}`);
    if (!manifestExists(ctx.manifest)) throw new ConfigError(`manifest migrate: expected a manifest at ${ctx.manifest}, got none`);
    const from = await ManifestStore.open(ctx.manifest);
    try {
      const target = await ManifestStore.open(to);
      try {
        const progress = createProgress({ label: 'manifest migrate', total: 0, unit: 'rows' });
        const copied = await copyManifest(from, target, {
          total: (rows) => progress.setTotal(rows),
          copied: (table, rows) => progress.tick(rows, table),
        });
        progress.stop();
        console.log(`copied ${from.path} -> ${target.path}, verified:`);
        for (const t of copied) console.log(`  ${t.table.padEnd(14)} ${String(t.rows).padStart(8)} rows  sha256 ${t.hash.slice(0, 16)}`);
      } finally {
        await target.close();
      }
    } finally {
      await from.close();
    }
  });
  return cmd;
}
