/**
 * Proves that `pnpm lint` bites: a package's real `lint` script, run over a scratch copy of the
 * workspace's configs (biome.jsonc, .dependency-cruiser.cjs, tsconfigs, package.json files), fails
 * on an upward import and on an unformatted file, naming the rule and the files, and passes on a
 * clean tree. A scratch copy, because other checks may be reading the real tree at the same time.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const ROOT_FILES = ['biome.jsonc', '.dependency-cruiser.cjs', 'tsconfig.json', 'tsconfig.base.json', '.gitignore'];
const PACKAGES = readdirSync(join(ROOT, 'packages'));

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the workspace's configs with the given source files; a git repo, as Biome reads .gitignore through git. */
function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pthnet-lint-rules-'));
  scratch.push(dir);
  for (const f of ROOT_FILES) copyFileSync(join(ROOT, f), join(dir, f));
  for (const p of PACKAGES) {
    mkdirSync(join(dir, 'packages', p, 'src'), { recursive: true });
    copyFileSync(join(ROOT, 'packages', p, 'package.json'), join(dir, 'packages', p, 'package.json'));
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  spawnSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

/** Runs package `name`'s `lint` script exactly as package.json spells it, with the workspace's tools on PATH. */
function lint(dir: string, name: string): { status: number | null; output: string } {
  const script = (JSON.parse(readFileSync(join(dir, 'packages', name, 'package.json'), 'utf8')) as { scripts: { lint: string } }).scripts
    .lint;
  const r = spawnSync('sh', ['-c', script], {
    cwd: join(dir, 'packages', name),
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' },
  });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal colours Biome prints even without a TTY
  return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '') };
}

const EVAL_STAGES = "export const EVAL_STAGES: readonly string[] = ['eval'];\n";

describe('pnpm lint', () => {
  it('passes a clean package', () => {
    const dir = workspace({
      'packages/shared/src/index.ts': 'export const answer = 42;\n',
      'packages/eval/src/stages/index.ts': EVAL_STAGES,
    });
    const r = lint(dir, 'shared');
    expect(r.output).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('fails on an import from eval in packages/shared/src, naming the rule and both files', () => {
    const dir = workspace({
      'packages/shared/src/index.ts':
        "import { EVAL_STAGES } from '../../eval/src/stages/index.ts';\n\nexport const stages = EVAL_STAGES;\n",
      'packages/eval/src/stages/index.ts': EVAL_STAGES,
    });
    const r = lint(dir, 'shared');
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('error package-order-shared: packages/shared/src/index.ts → packages/eval/src/stages/index.ts');
    expect(r.output).toContain('shared may not import model, extract, train, eval, cli');
  });

  it('fails on a dynamic import() of a package above, by name', () => {
    const dir = workspace({
      'packages/model/src/index.ts': "export const load = () => import('eval/stages');\n",
    });
    const r = lint(dir, 'model');
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('error package-order-model: packages/model/src/index.ts → eval/stages');
  });

  it('fails on production code importing a test helper', () => {
    const dir = workspace({
      'packages/train/src/index.ts': "import { helper } from './stages/fixture.test-helper.ts';\n\nexport const h = helper;\n",
      'packages/train/src/stages/fixture.test-helper.ts': 'export const helper = 1;\n',
    });
    const r = lint(dir, 'train');
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(
      'error no-test-code-in-production: packages/train/src/index.ts → packages/train/src/stages/fixture.test-helper.ts',
    );
  });

  it('fails on an unformatted file, naming it', () => {
    const dir = workspace({ 'packages/shared/src/index.ts': 'export const  answer=42\n' });
    const r = lint(dir, 'shared');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/src\/index\.ts format/);
    expect(r.output).toContain('File content differs from formatting output');
  });
});
