// `npm run coverage`: line and branch coverage per top-level folder, counting both the code the
// tests run in-process (vitest's V8 coverage) and the relays, clients and load testers that the
// e2e tests spawn from dist/ (NODE_V8_COVERAGE in each child). The children's V8 coverage is
// merged across processes and mapped back to the .ts sources through the build's source maps
// with the converter vitest itself uses (ast-v8-to-istanbul), so both halves count the same
// statements and branches and merge cleanly. Fails when a folder falls below its floor in
// test/tools/coverage-floors.json. Arguments go to vitest (e.g. a test file). Run after a build.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import v8Coverage from '@bcoe/v8-coverage'
import { parse } from 'acorn'
import { convert } from 'ast-v8-to-istanbul'
import libCoverage from 'istanbul-lib-coverage'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT = join(ROOT, 'coverage')
const CHILD_RAW = join(OUT, 'children-raw')
const FOLDERS = ['cli', 'server', 'client', 'shared', 'loadtest']
const FLOORS = JSON.parse(readFileSync(new URL('./coverage-floors.json', import.meta.url), 'utf8'))

rmSync(OUT, { recursive: true, force: true })
// The child variable is read by test/helpers/cli.ts (CHILD_COVERAGE_ENV).
const vitest = spawnSync(join(ROOT, 'node_modules', '.bin', 'vitest'), ['run', '--coverage', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, TEST_CHILD_V8_COVERAGE: CHILD_RAW },
})
// A failing test still leaves its coverage: report it, then fail.
const testsFailed = vitest.status !== 0

const inProcess = join(OUT, 'in-process', 'coverage-final.json')
const map = libCoverage.createCoverageMap(existsSync(inProcess) ? JSON.parse(readFileSync(inProcess, 'utf8')) : {})
const children = await childCoverage()
for (const file of children.files()) {
  const child = children.fileCoverageFor(file).toJSON()
  if (map.files().includes(file)) alignEnds(map.fileCoverageFor(file).toJSON(), child)
  map.merge({ [file]: child })
}
mkdirSync(join(OUT, 'merged'), { recursive: true })
writeFileSync(join(OUT, 'merged', 'coverage-final.json'), JSON.stringify(map.toJSON()))
printAndCheck(map)
if (testsFailed) {
  console.error(`coverage: vitest exited with ${vitest.status ?? vitest.signal}`)
  process.exit(vitest.status ?? 1)
}

/**
 * The two halves map the same .ts statement from different JavaScript (vite's transform, tsc's
 * build), so an end column can differ by a character or two while the start is the same; istanbul
 * merges by the whole range. Give `child`'s items the range of the in-process item that starts
 * at the same place, so one statement is not counted twice.
 */
function alignEnds (base, child) {
  const key = (loc) => `${loc.start.line}:${loc.start.column}`
  const index = (items, pick) => new Map(Object.values(items).flatMap((item) => pick(item).map((loc) => [key(loc), loc])))
  const statements = index(base.statementMap, (s) => [s])
  for (const [id, loc] of Object.entries(child.statementMap)) child.statementMap[id] = statements.get(key(loc)) ?? loc
  const fns = index(base.fnMap, (f) => [f.loc])
  for (const f of Object.values(child.fnMap)) f.loc = fns.get(key(f.loc)) ?? f.loc
  const branches = index(base.branchMap, (b) => b.locations)
  for (const b of Object.values(child.branchMap)) b.locations = b.locations.map((loc) => branches.get(key(loc)) ?? loc)
}

/** The spawned processes' coverage of dist/<product folder>, merged and mapped to the .ts sources. */
async function childCoverage () {
  const out = libCoverage.createCoverageMap({})
  if (!existsSync(CHILD_RAW)) return out
  const product = new RegExp(`^file://${ROOT}dist/(${FOLDERS.join('|')})/.*\\.js$`)
  const byUrl = new Map()
  for (const name of readdirSync(CHILD_RAW)) {
    const raw = JSON.parse(readFileSync(join(CHILD_RAW, name), 'utf8'))
    for (const script of raw.result ?? []) {
      if (!product.test(script.url)) continue
      const seen = byUrl.get(script.url)
      byUrl.set(script.url, seen === undefined ? script : v8Coverage.mergeScriptCovs([seen, script]))
    }
  }
  for (const [url, script] of byUrl) {
    const file = fileURLToPath(url)
    const code = readFileSync(file, 'utf8')
    const sourceMap = JSON.parse(readFileSync(`${file}.map`, 'utf8'))
    const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true })
    out.merge(await convert({ code, sourceMap, ast, coverage: { url, functions: script.functions } }))
  }
  return out
}

function printAndCheck (coverage) {
  const byFolder = new Map(FOLDERS.map((f) => [f, libCoverage.createCoverageSummary()]))
  for (const file of coverage.files()) {
    const rel = relative(ROOT, file)
    const summary = byFolder.get(rel.split('/')[0])
    if (summary === undefined || !rel.endsWith('.ts')) continue
    summary.merge(coverage.fileCoverageFor(file).toSummary())
  }
  const pct = (m) => (m.total === 0 ? 100 : (100 * m.covered) / m.total)
  let failed = false
  console.log('\n| folder | lines | branches | floor (lines / branches) | |\n|---|---|---|---|---|')
  for (const [folder, s] of byFolder) {
    const floor = FLOORS[folder] ?? { lines: 0, branches: 0 }
    const lines = pct(s.lines)
    const branches = pct(s.branches)
    const ok = lines >= floor.lines && branches >= floor.branches
    if (!ok) failed = true
    console.log(`| ${folder} | ${lines.toFixed(1)} % (${s.lines.covered}/${s.lines.total}) | ${branches.toFixed(1)} % (${s.branches.covered}/${s.branches.total}) | ${floor.lines} / ${floor.branches} | ${ok ? 'ok' : 'BELOW FLOOR'} |`)
  }
  if (failed) {
    console.error('\ncoverage: a folder is below its floor (test/tools/coverage-floors.json)')
    process.exit(1)
  }
}
