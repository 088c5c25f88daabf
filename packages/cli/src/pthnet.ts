#!/usr/bin/env node
/** `pnpm pthnet <stage> [flags]`: one entry point for every pipeline stage (see `stages.ts`). */
import { dispatch } from 'shared/cli';
import { STAGES } from './stages.js';

export function main(argv: readonly string[]): Promise<number> {
  return dispatch(STAGES, argv);
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('pthnet.ts');
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
