// Lint for bugs the type checker lets through: above all promises nobody waits for (in Node an
// unhandled rejection ends the process, so a floating promise in socket code is a crash waiting
// for its error). Type-aware rules read the same tsconfig.json as `npm run typecheck`.
// A rule turned off, here or on one line, says why.
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

/** The Node globals the two plain .js/.mjs files use (no type information there). */
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'Buffer', 'URL', 'console', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval']
    .map((name) => [name, 'readonly']),
)

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Every linted .ts file is in tsconfig.json (the browser code in web/tsconfig.json), so one
      // program for each; measured about an eighth less CPU than `projectService: true` on this code base.
      parserOptions: { project: ['./tsconfig.json', './web/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The promise rules (no-floating-promises, no-misused-promises, await-thenable,
      // only-throw-error, prefer-promise-reject-errors) come from recommendedTypeChecked.
      // A promise returned from inside try without `await` escapes the catch and the finally.
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      // Conventions: `import type` for types; no `import()` in type positions either.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `import { type A }` alone keeps a runtime import of the module under verbatimModuleSyntax.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // A switch over a union without a default must name every member (wire message types,
      // proxy types, phases). A deliberate `default:` is a decision and counts as exhaustive.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Deprecated APIs (Node, zod, ...) are the ones that break on the next major version.
      '@typescript-eslint/no-deprecated': 'error',
      // One import statement per module (a folder's index.ts is imported once, not per name).
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // `const { secret: _unused, ...rest } = x` is how a key is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Off: in this code base it is wrong more often than right. TypeScript keeps a narrowing
      // across `await` and callbacks (microsoft/TypeScript#9998), so every re-check of
      // `signal.aborted`, `done` or `failure` after an await or a callback is reported as
      // "always falsy", and it trusts typings that are too narrow (yargs' `fail` error,
      // spawnSync's stdout, process.stdout.columns, dgram callback errors). Of its 25 findings
      // when this config was written none was a bug: 17 were checks that must stay (re-checks
      // after an await or a callback, guards against typings that are too narrow), one a
      // `while (true)`, and 7 optional chains that could go but do no harm.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Off: an `async` function without `await` is how a synchronous throw becomes a
      // rejection for a promise-based queue; the rule reports only that deliberate use.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests: vitest's asymmetric matchers (`expect.any(Number)`, `expect.stringContaining`)
    // are typed `any`, so every `toEqual({ port: expect.any(Number) })` is an "unsafe
    // assignment". The promise rules stay on here: a floating promise in a test hides a failure.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The browser code runs in a page: its globals are the DOM's.
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly' } },
  },
  {
    // eslint.config.js, web/build.mjs, test/lab/probe.mjs and test/tools/*.mjs are plain JavaScript outside tsconfig.json.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: NODE_GLOBALS },
  },
  {
    // .dependency-cruiser.cjs is CommonJS (the tool loads its config with require).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
)
