/**
 * One `pthnet extract` worker as its own process (`node --import tsx extract-child.ts [flags]`),
 * for the test of several workers sharing one manifest: the real stage command, flags as given.
 */
import { command } from '../stages/extract.js';

await command().parseAsync(process.argv.slice(2), { from: 'user' });
