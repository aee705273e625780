// The browser side of the package, built into dist/web/ by `npm run build` (after tsc):
//   dashboard.js / dashboard.css   the relay's and the client's dashboard (Preact + uPlot), served
//                                  by their admin API under /assets/ (shared/admin/dashboard.ts)
//   icon.svg                       the dashboard's favicon
//   report.js / report.css         the chart code `tunnel bench --report` inlines into its HTML file
// esbuild bundles each entry with its npm dependencies (devDependencies: nothing is fetched at run
// time, nothing outside node_modules at build time) and keeps their licence comments.
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'dist', 'web')

/** Browsers of the last few years; nothing here needs more than ES2020 and CSS custom properties. */
const TARGET = ['chrome109', 'firefox115', 'safari16']

const common = {
  bundle: true,
  minify: true,
  target: TARGET,
  legalComments: 'eof',
  logLevel: 'warning',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // Development-only code paths of the libraries go.
  define: { 'process.env.NODE_ENV': '"production"' },
}

await mkdir(out, { recursive: true })
await Promise.all([
  // A module script: served from the package, loaded by <script type="module" src=...>.
  build({ ...common, entryPoints: { dashboard: join(here, 'dashboard', 'main.tsx') }, outdir: out, format: 'esm' }),
  // A classic script: the bench report inlines it into a file that works from file://.
  build({ ...common, entryPoints: { report: join(here, 'report', 'main.ts') }, outdir: out, format: 'iife' }),
  copyFile(join(here, 'dashboard', 'icon.svg'), join(out, 'icon.svg')),
])
