import type { Command } from 'commander';
import type { CheckOptions } from '../atomic/types.js';

const REHASH_HELP = `
Unchanged files are found by their stamp (size, mtime, inode) as recorded when they were last
hashed, without reading them; a file whose stamp moved is hashed again, and redone only if its
content changed. A rewrite that keeps all three (a same-size copy with its mtime restored) is
caught only by --rehash, which hashes every file.`;

/** `--rehash`, the same on every stage that hashes files: hash them all instead of trusting unchanged stamps. */
export function addRehashOption(cmd: Command, what: string): Command {
  return cmd.option('--rehash', `hash ${what} again, even when its size, mtime and inode are unchanged`).addHelpText('after', REHASH_HELP);
}

/** How a stage checks recorded files: by stamp, or by hash with `--rehash`. */
export function verifyOf(cmd: Command): Required<CheckOptions>['verify'] {
  return cmd.opts<{ rehash?: boolean }>().rehash === true ? 'hash' : 'stamp';
}
