// The layout's import rules (CONVENTIONS "Shape of the house", DESIGN §7), checked by `npm run
// depcheck`, which `npm test` runs: a rule broken on purpose fails the test command.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle makes load order matter and hides a missing layer: split the module instead.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'server-not-client',
      severity: 'error',
      comment: 'The relay and the client never import each other: what both need belongs in shared/.',
      from: { path: '^server/' },
      to: { path: '^(client|loadtest)/' },
    },
    {
      name: 'client-not-server',
      severity: 'error',
      comment: 'The relay and the client never import each other: what both need belongs in shared/.',
      from: { path: '^client/' },
      to: { path: '^(server|loadtest)/' },
    },
    {
      name: 'loadtest-only-shared',
      severity: 'error',
      comment: 'The load tester is product code that stands on shared/ alone.',
      from: { path: '^loadtest/' },
      to: { path: '^(server|client)/' },
    },
    {
      name: 'shared-imports-no-side',
      severity: 'error',
      comment: 'shared/ is what both sides use: it imports neither side, nor the CLI or the load tester.',
      from: { path: '^shared/' },
      to: { path: '^(server|client|cli|loadtest)/' },
    },
    {
      name: 'sides-not-cli',
      severity: 'error',
      comment: 'cli/ is the composition root: nothing below it imports it.',
      from: { path: '^(server|client|shared|loadtest)/' },
      to: { path: '^cli/' },
    },
    {
      name: 'product-not-bench-or-test',
      severity: 'error',
      comment: 'Shipped code never imports the benchmarks or the tests.',
      from: { path: '^(cli|server|client|shared|loadtest)/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'product-not-dev-deps',
      severity: 'error',
      comment: 'Shipped code may only use dependencies a user install has (not devDependencies).',
      from: { path: '^(cli|server|client|shared|loadtest)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'nothing-outside-the-repo',
      severity: 'error',
      comment: "A user's clone has nothing beside it (no ../shared): copy what you need into the repo.",
      from: {},
      to: { path: '^\\.\\./' },
    },
    {
      name: 'through-index-from-a-folder',
      severity: 'error',
      comment: "A folder's index.ts is its public face: code outside the folder imports it, not the modules behind it.",
      from: { path: '^((?:cli|server|client|shared|loadtest)/[^/]+)/' },
      to: { path: '^(?:shared|server|client)/[^/]+/', pathNot: ['^$1/', '/index\\.ts$'] },
    },
    {
      name: 'through-index-from-the-top',
      severity: 'error',
      comment: "A folder's index.ts is its public face: code outside the folder imports it, not the modules behind it.",
      from: { path: '^(?:cli|server|client|shared|loadtest)/[^/]+\\.ts$' },
      to: { path: '^(?:shared|server|client)/[^/]+/', pathNot: '/index\\.ts$' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve fails at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
