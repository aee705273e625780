// The CLI as one bundle, built into dist/bundle/ by `npm run build` (after tsc): esbuild joins
// the compiled modules of dist/cli/program.js and the pure-JavaScript libraries they load (zod,
// yargs, yaml, smol-toml, tweetnacl, pino: it logs through a stream in the process, never through
// a transport's worker thread) into a few files, tree-shaken and without comments or
// whitespace, split at the dynamic imports so each command still loads only its own code.
// dist/cli/main.js runs it when it is there (issue 21: an idle relay or client holds the text and
// bytecode of every module it loaded; one bundle is 5-8 MiB less RSS than ~300 separate modules).
// Libraries that read files beside themselves or load native code stay outside, loaded from
// node_modules as before. Identifiers are not renamed, so stack traces still name our functions.
import { build } from 'esbuild'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** Bundled: pure JavaScript, nothing read from beside the package at run time (pino: no transports used). */
const BUNDLED = new Set(['zod', 'yargs', 'yaml', 'smol-toml', 'tweetnacl', 'pino'])

/**
 * zod's index re-exports its 60-odd message locales as a namespace (`z.locales`), which keeps
 * them all in the bundle; the config code uses none of them (zod's default, English, is imported
 * by zod's schemas directly). The namespace keeps only `en`.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup (b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-english-only' } : undefined)
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () =>
      ({ contents: "export { default as en } from 'zod/v4/locales/en.js'", resolveDir: root, loader: 'js' }))
  },
}

// Chunks are named by their content's hash: a new build replaces the old files, not adds to them.
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true })

await build({
  absWorkingDir: root,
  entryPoints: { program: 'dist/cli/program.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // The bundled CommonJS libraries (yaml, tweetnacl) call require() for Node's own modules.
  banner: { js: "import { createRequire as __tunnelCreateRequire } from 'node:module'; const require = __tunnelCreateRequire(import.meta.url);" },
  plugins: [zodEnglishOnly],
  // string-width makes an Intl.Segmenter when it loads, and yargs measures the running command's
  // help text with it: the first real one loads ICU's segmentation data, 2.5 MiB of an idle relay's
  // or client's RSS (issue 21). cli/lazy-segmenter.ts splits simple text without it.
  inject: ['dist/cli/lazy-segmenter.js'],
  define: { 'Intl.Segmenter': 'LazySegmenter' },
  logLevel: 'warning',
})
