// The layout's import rules (.dependency-cruiser.cjs, run by `npm test` as `npm run depcheck`)
// catch what they promise: each case writes a tiny tree that breaks one rule into a temporary
// folder and runs the same command on it. The real tree is checked by the depcheck script.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')
const TOP = ['cli', 'server', 'client', 'shared', 'loadtest', 'bench', 'test', 'web']
const made: string[] = []

afterAll(async () => { await Promise.all(made.map(async (d) => { await rm(d, { recursive: true, force: true }) })) })

/** Writes `files` (path → source) into a fresh folder and runs depcruise there; the rule names it reports. */
async function violations (files: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-layering-'))
  made.push(dir)
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }))
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'layering-case', type: 'module' }))
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), source)
  }
  const present = TOP.filter((t) => Object.keys(files).some((p) => p.startsWith(`${t}/`)))
  // The json reporter exits 0 and lists the violations; the err reporter (npm run depcheck) exits
  // with their count.
  const { stdout } = await run(DEPCRUISE, [...present, '--config', CONFIG, '--output-type', 'json'], { cwd: dir })
  const report = JSON.parse(stdout) as { summary: { violations: Array<{ rule: { name: string } }> } }
  return report.summary.violations.map((v) => v.rule.name)
}

describe('layering rules', () => {
  it('accept a tree that follows the layout', async () => {
    expect(await violations({
      'shared/a.ts': 'export const a = 1\n',
      'server/s.ts': "import { a } from '../shared/a.js'\nexport const s = a\n",
      'client/c.ts': "import { a } from '../shared/a.js'\nexport const c = a\n",
      'cli/main.ts': "import { s } from '../server/s.js'\nimport { c } from '../client/c.js'\nexport const m = s + c\n",
    })).toEqual([])
  })

  it('refuse server/ importing client/', async () => {
    expect(await violations({
      'client/c.ts': 'export const c = 1\n',
      'server/s.ts': "import { c } from '../client/c.js'\nexport const s = c\n",
    })).toEqual(['server-not-client'])
  })

  it('refuse client/ importing server/', async () => {
    expect(await violations({
      'server/s.ts': 'export const s = 1\n',
      'client/c.ts': "import { s } from '../server/s.js'\nexport const c = s\n",
    })).toEqual(['client-not-server'])
  })

  it('refuse shared/ importing a side, and a side importing cli/', async () => {
    expect(await violations({
      'server/s.ts': 'export const s = 1\n',
      'shared/a.ts': "import { s } from '../server/s.js'\nexport const a = s\n",
    })).toEqual(['shared-imports-no-side'])
    expect(await violations({
      'cli/x.ts': 'export const x = 1\n',
      'server/s.ts': "import { x } from '../cli/x.js'\nexport const s = x\n",
    })).toEqual(['sides-not-cli'])
  })

  it('refuse the load tester importing a side', async () => {
    expect(await violations({
      'server/s.ts': 'export const s = 1\n',
      'loadtest/l.ts': "import { s } from '../server/s.js'\nexport const l = s\n",
    })).toEqual(['loadtest-only-shared'])
  })

  it('refuse an import cycle, also through types only', async () => {
    const names = await violations({
      'shared/a.ts': "import type { B } from './b.js'\nexport interface A { b?: B }\n",
      'shared/b.ts': "import type { A } from './a.js'\nexport interface B { a?: A }\n",
    })
    expect(names.length).toBeGreaterThan(0)
    expect(new Set(names)).toEqual(new Set(['no-cycles']))
  })

  it('refuse shipped code importing tests or benchmarks', async () => {
    expect(await violations({
      'test/h.ts': 'export const h = 1\n',
      'server/s.ts': "import { h } from '../test/h.js'\nexport const s = h\n",
    })).toEqual(['product-not-bench-or-test'])
  })

  it('refuse an import past a folder\'s index.ts from outside the folder, and allow it inside', async () => {
    expect(await violations({
      'shared/mux/session.ts': 'export const s = 1\n',
      'shared/mux/index.ts': "export { s } from './session.js'\n",
      'shared/mux/stream.ts': "import { s } from './session.js'\nexport const t = s\n",
      'server/relay.ts': "import { s } from '../shared/mux/session.js'\nexport const r = s\n",
      'server/vhost/x.ts': "import { s } from '../../shared/mux/session.js'\nexport const x = s\n",
      'client/c.ts': "import { s } from '../shared/mux/index.js'\nexport const c = s\n",
    }).then((names) => names.sort())).toEqual(['through-index-from-a-folder', 'through-index-from-the-top'])
  })

  it('let the browser code (web/) take types from the code base, and nothing else; shipped code never imports web/', async () => {
    expect(await violations({
      'shared/admin/status.ts': 'export interface Status { ok: boolean }\nexport const ok = true\n',
      'web/types.ts': "import type { Status } from '../shared/admin/status.js'\nexport const s: Status = { ok: true }\n",
    })).toEqual([])
    expect(await violations({
      'shared/admin/status.ts': 'export const ok = true\n',
      'web/code.ts': "import { ok } from '../shared/admin/status.js'\nexport const s = ok\n",
    })).toEqual(['web-only-types'])
    expect(await violations({
      'web/w.ts': 'export const w = 1\n',
      'server/s.ts': "import { w } from '../web/w.js'\nexport const s = w\n",
    })).toEqual(['product-not-web'])
  })

  it('refuse an import from outside the repository', async () => {
    expect(await violations({
      'test/t.ts': "import { v } from '../../outside/v.js'\nexport const t = v\n",
    })).toContain('no-unresolvable')
  })
})
