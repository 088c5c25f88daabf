import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchWindowSharing } from './pipeline.js';

describe('benchWindowSharing', () => {
  it('counts the passes saved over a reference clip list (hand-computed: n=47 → 17 vs 9, n=17 → 6 vs 2, n=8 → 3 vs 1)', () => {
    const list = join(mkdtempSync(join(tmpdir(), 'pthnet-share-')), 'list.txt');
    writeFileSync(list, 'a/Sad/1 47 1\nb/Happy/2 17 0\nc/Fear/3 8 6\n');
    expect(benchWindowSharing(list)).toMatchObject({ clips: 3, passesWithoutSharing: 26, passesWithSharing: 12, saved: 14 });
  });
});
