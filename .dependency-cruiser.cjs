// Dependency rules for the workspace, checked by `pnpm lint` (dependency-cruiser). Packages depend one
// way: shared <- model <- extract, train <- eval <- cli. Paths are matched after resolution, so a bare
// `import 'eval'`, a relative `../../../eval/src/...` and a dynamic `import()` are the same edge.

/** Packages each package may NOT import, i.e. everything at its own level or above. */
const ABOVE = {
  shared: ['model', 'extract', 'train', 'eval', 'cli'],
  model: ['extract', 'train', 'eval', 'cli'],
  extract: ['train', 'eval', 'cli'],
  train: ['extract', 'eval', 'cli'],
  eval: ['cli'],
};

const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const PACKAGES = readdirSync(join(__dirname, 'packages'));

/** Workspace packages named in a package's package.json (any dependency field). */
function declaredWorkspaceDeps(name) {
  const manifest = JSON.parse(readFileSync(join(__dirname, 'packages', name, 'package.json'), 'utf8'));
  const fields = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];
  return PACKAGES.filter((other) => fields.some((f) => manifest[f]?.[other] !== undefined));
}

const TEST_FILE = '\\.test\\.ts$';
const TEST_SUPPORT = '(\\.test-helper\\.ts$|/testing\\.ts$|/test-support/|(^|/)shared/fixtures/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(ABOVE).map(([from, above]) => ({
      name: `package-order-${from}`,
      comment: `${from} may not import ${above.join(', ')}: packages depend one way (shared <- model <- extract, train <- eval <- cli)`,
      severity: 'error',
      from: { path: `^packages/${from}/` },
      // resolved edges end in packages/<name>/...; an import of a package this one does not declare
      // cannot resolve (pnpm links only declared packages), so its path is the bare specifier
      to: { path: `^(packages/)?(${above.join('|')})(/|$)` },
    })),
    {
      name: 'no-relative-cross-package',
      comment: 'reach another package by its name (declared in package.json) and its exports, never by a relative path into its src',
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/([^/]+)/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
    ...PACKAGES.map((name) => {
      const declared = declaredWorkspaceDeps(name);
      const undeclared = PACKAGES.filter((other) => other !== name && !declared.includes(other));
      return {
        name: `declared-workspace-deps-${name}`,
        comment: `${name} imports only the workspace packages its package.json declares (${declared.join(', ') || 'none'})`,
        severity: 'error',
        from: { path: `^packages/${name}/` },
        to: { path: `^packages/(${undeclared.join('|')})/` },
      };
    }),
    {
      name: 'no-circular',
      comment: 'modules may not depend on themselves through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-production',
      comment: 'production code may not import tests, test helpers or fixtures',
      severity: 'error',
      from: { path: '^packages/', pathNot: [TEST_FILE, TEST_SUPPORT] },
      to: { path: [TEST_FILE, TEST_SUPPORT] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-undeclared-dependency',
      comment: "a package's imports are declared in its own package.json",
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-dev-dependency-in-production',
      comment: 'production code may not rely on a devDependency (it is absent where the package is installed for use)',
      severity: 'error',
      from: { path: '^packages/', pathNot: [TEST_FILE, TEST_SUPPORT, '/bench/'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '^node_modules/@types/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '\\.d\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
