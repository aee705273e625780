// The CLI as one bundle, built into dist/bundle/ by `npm run build` (after tsc): esbuild joins
// the compiled modules of dist/cli/program.js and the pure-JavaScript libraries they load (zod,
// yargs, yaml, smol-toml, tweetnacl, pino: it logs through a stream in the process, never through
// a transport's worker thread) into a few files, tree-shaken and without comments or
// whitespace: program.js, zod.js and a bundle per command (command-NAME.js, split where the command
// loads more later), so each command still loads only its own code.
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

/**
 * pino loads node:worker_threads when it loads, for its transports (thread-stream's Worker) and
 * to know it runs on the main thread (tools.js's isMainThread): the CLI logs through a stream in
 * the process and never starts a transport, and always runs on the main thread. In the bundle they
 * get a stand-in (issue 21: worker_threads and what it loads are 0.5-1.5 MiB of an idle relay's or
 * client's RSS); a transport asked for anyway fails loudly instead of running.
 */
const pinoWithoutWorkers = {
  name: 'pino-without-workers',
  setup (b) {
    b.onResolve({ filter: /^(node:)?worker_threads$/ }, (args) =>
      /[\\/]node_modules[\\/](pino|thread-stream)[\\/]/.test(args.importer) ? { path: 'worker-threads-stand-in', namespace: 'pino-without-workers' } : undefined)
    b.onLoad({ filter: /.*/, namespace: 'pino-without-workers' }, () => ({
      contents: "export const isMainThread = true\nexport class Worker { constructor () { throw new Error('pino transports (worker threads) are not part of the tunnel CLI bundle: it logs through a stream') } }\n",
      loader: 'js',
    }))
  },
}

/** The command modules program.js loads by name, each bundled on its own (see below). */
const COMMAND_MODULE = /^\.\/commands\/([\w-]+)\.js$/

/**
 * Every bundle imports zod from one file, dist/bundle/zod.js, so there is one zod in the process:
 * program.js sets it jitless (cli/zod-jitless.ts) before a command's schemas are built.
 */
const zodApart = (from) => ({
  name: 'zod-apart',
  setup (b) {
    b.onResolve({ filter: /^zod$/ }, () => ({ path: from, external: true }))
  },
})

/** program.js imports each command's bundle (command-NAME.js beside it) instead of containing it. */
const commandsApart = {
  name: 'commands-apart',
  setup (b) {
    b.onResolve({ filter: COMMAND_MODULE }, (args) => ({ path: `./command-${COMMAND_MODULE.exec(args.path)[1]}.js`, external: true }))
  },
}

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // The bundled CommonJS libraries (yaml, tweetnacl) call require() for Node's own modules.
  banner: { js: "import { createRequire as __tunnelCreateRequire } from 'node:module'; const require = __tunnelCreateRequire(import.meta.url);" },
  // string-width makes an Intl.Segmenter when it loads, and yargs measures the running command's
  // help text with it: the first real one loads ICU's segmentation data, 2.5 MiB of an idle relay's
  // or client's RSS (issue 21). cli/lazy-segmenter.ts splits simple text without it.
  inject: ['dist/cli/lazy-segmenter.js'],
  define: { 'Intl.Segmenter': 'LazySegmenter' },
  logLevel: 'warning',
}

// Chunks are named by their content's hash: a new build replaces the old files, not adds to them.
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true })

// Why a bundle per command rather than one build split at every dynamic import (issue 21): split
// together, the commands share code in many small chunks, and the relay loaded 15 files through
// 46 imports. Node's ES module loader turns each import's URL into a path several times (resolving,
// reading, finding the package scope), enough calls that V8 optimized node's getPathFromURLPosix
// while a relay or client started, which pulls the optimizing compiler's code into the process for
// good (about 4 MiB). Apart, a command loads its own bundle and the chunks of what it loads later
// (admin API, fleet); `tunnel --help` loads them all (server, client and the rest each with their
// own copy of the code they share).
await build({
  ...common,
  stdin: { contents: "export { z } from 'zod'", resolveDir: root, sourcefile: 'zod-entry.js' },
  outfile: 'dist/bundle/zod.js',
  plugins: [zodEnglishOnly],
})

await build({
  ...common,
  entryPoints: { program: 'dist/cli/program.js' },
  outdir: 'dist/bundle',
  plugins: [zodApart('./zod.js'), commandsApart, pinoWithoutWorkers],
})

const program = readFileSync(join(root, 'dist', 'cli', 'program.js'), 'utf8')
const commands = [...program.matchAll(/import\('(\.\/commands\/[\w-]+\.js)'\)/g)].map((m) => COMMAND_MODULE.exec(m[1])[1])
if (commands.length === 0) throw new Error('bundle-cli: no command modules found in dist/cli/program.js')
/**
 * The commands that run as daemons get a build each; the short-lived rest share one split build
 * (their chunks are loaded by a handful of imports, and `tunnel --help`, which loads every command,
 * then holds one copy of their common code rather than one per command).
 */
const DAEMONS = new Set(['server', 'client'])
const groups = [...commands.filter((name) => DAEMONS.has(name)).map((name) => [name]), commands.filter((name) => !DAEMONS.has(name))]
for (const group of groups.filter((g) => g.length > 0)) {
  await build({
    ...common,
    entryPoints: Object.fromEntries(group.map((name) => [`command-${name}`, `dist/cli/commands/${name}.js`])),
    outdir: 'dist/bundle',
    // Split at the command's own dynamic imports (admin API, fleet, status): loaded when used.
    splitting: true,
    plugins: [zodApart('./zod.js'), pinoWithoutWorkers],
  })
}
