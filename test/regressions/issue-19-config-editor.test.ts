// The client dashboard's config editor (client/config-editor.ts and its routes): a check is
// `tunnel verify` with each problem at its line, plus the settings a reload would refuse; apply
// writes nothing unless the text verifies and the file is still the one the editor read, then
// replaces the file atomically (mode kept, previous text kept as .bak) and runs the reload; and
// the routes refuse everything while the admin API has no credentials.
import { chmod, lstat, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigEditor, lineOfSetting, revisionOf, writeAtomically } from '../../client/config-editor.js'
import { configRoutes, type AdminRequest, type AdminResponse, type ReloadOutcome } from '../../shared/admin/index.js'
import { parseClientConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'

const dirs: string[] = []
afterEach(async () => { await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) })) })

const BASE = [
  'serverAddr: 127.0.0.1',
  'serverPort: 7000',
  'auth:',
  '  token: "editor-token"',
  'proxies:',
  '  - name: ssh',
  '    type: tcp',
  '    localPort: 22',
  '    remotePort: 6000',
  '',
].join('\n')

const WITH_WEB = BASE + ['  - name: web', '    type: tcp', '    localPort: 8080', '    remotePort: 6001', ''].join('\n')

async function setup (text = BASE): Promise<{ file: string, editor: ConfigEditor, reloads: () => number, outcome: { next: ReloadOutcome } }> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-editor-'))
  dirs.push(dir)
  const file = join(dir, 'frpc.yml')
  await writeFile(file, text, { mode: 0o600 })
  const running = parseClientConfig(text, file, {}).config
  let n = 0
  const outcome = { next: { status: 'applied', added: ['web'], removed: [], changed: [], errors: [] } as ReloadOutcome }
  const editor = new ConfigEditor({ file, running: () => running, reload: async () => { n++; return await Promise.resolve(outcome.next) }, log: silentLogger(), env: {} })
  return { file, editor, reloads: () => n, outcome }
}

describe('config editor (issue 19)', () => {
  it('reads the file it was started with, with its revision', async () => {
    const { file, editor } = await setup()
    expect(await editor.read()).toEqual({ file, format: 'yaml', text: BASE, revision: revisionOf(BASE) })
  })

  it('a check finds a typo at its line, as tunnel verify does', async () => {
    const { editor } = await setup()
    const typo = WITH_WEB.replace('    localPort: 8080', '    localPrt: 8080')
    const r = editor.check(typo)
    expect(r.ok).toBe(false)
    expect(r.errors).toContainEqual(expect.objectContaining({ line: 12, col: 5, code: 'TUN_CONFIG_UNKNOWN_KEY', path: 'proxies[1].localPrt' }))
    expect(editor.check(WITH_WEB)).toEqual({ ok: true, errors: [], warnings: [] })
  })

  it('a check refuses a change a reload cannot apply, at the setting\'s line', async () => {
    const { editor } = await setup()
    const r = editor.check(BASE.replace('serverPort: 7000', 'serverPort: 7001'))
    expect(r.ok).toBe(false)
    expect(r.errors).toEqual([expect.objectContaining({ line: 2, path: 'serverPort', code: 'TUN_RELOAD_REFUSED' })])
    expect(lineOfSetting(BASE, 'auth.token')).toBe(4)
    expect(lineOfSetting(BASE, 'transport.heartbeatInterval')).toBe(0)
  })

  it('apply writes nothing when the text does not verify, or when the file changed since it was read', async () => {
    const { file, editor, reloads } = await setup()
    const bad = await editor.apply(WITH_WEB.replace('remotePort: 6001', 'remotePort: 70000'), revisionOf(BASE))
    expect('conflict' in bad).toBe(false)
    if ('conflict' in bad) return
    expect(bad.outcome.status).toBe('refused')
    expect(bad.outcome.errors[0]).toMatchObject({ code: 'TUN_CONFIG_RANGE', message: expect.stringContaining(`${file}:13:`) })
    expect(bad.backup).toBeNull()
    const stale = await editor.apply(WITH_WEB, revisionOf('something older'))
    expect(stale).toEqual({ conflict: expect.stringContaining('changed on disk') })
    expect(await readFile(file, 'utf8')).toBe(BASE)
    expect(reloads()).toBe(0)
  })

  it('apply replaces the file atomically, keeps its mode and the previous text, and reloads once', async () => {
    const { file, editor, reloads } = await setup()
    const r = await editor.apply(WITH_WEB, revisionOf(BASE))
    if ('conflict' in r) throw new Error(r.conflict)
    expect(r.outcome.status).toBe('applied')
    expect(r.revision).toBe(revisionOf(WITH_WEB))
    expect(r.backup).toBe(`${file}.bak`)
    expect(await readFile(file, 'utf8')).toBe(WITH_WEB)
    expect(await readFile(`${file}.bak`, 'utf8')).toBe(BASE)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(reloads()).toBe(1)
  })

  it('puts the previous text back when the reload refuses the written file', async () => {
    const { file, editor, outcome } = await setup()
    outcome.next = { status: 'refused', added: [], removed: [], changed: [], errors: [{ proxy: null, code: 'TUN_CONFIG_ENV', message: 'FRP_X is not set' }] }
    const r = await editor.apply(WITH_WEB, revisionOf(BASE))
    if ('conflict' in r) throw new Error(r.conflict)
    expect(r.outcome.status).toBe('refused')
    expect(r.revision).toBe(revisionOf(BASE))
    expect(await readFile(file, 'utf8')).toBe(BASE)
  })

  it('writes through a symbolic link to its target and leaves the link', async () => {
    const { file } = await setup()
    const link = `${file}.link`
    await symlink(file, link)
    await chmod(file, 0o640)
    await writeAtomically(link, 'new text\n')
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readlink(link)).toBe(file)
    expect(await readFile(file, 'utf8')).toBe('new text\n')
    expect((await stat(file)).mode & 0o777).toBe(0o640)
  })
})

describe('config routes (issue 19)', () => {
  const req = (body: string, headers: Record<string, string> = {}): AdminRequest => ({ method: 'POST', path: '/', query: new URLSearchParams(), body: Buffer.from(body), headers, signal: new AbortController().signal })
  const status = async (r: AdminResponse | Promise<AdminResponse>): Promise<{ status: number, json: unknown }> => {
    const a = await r
    return { status: a.status, json: 'json' in a ? a.json : a.text }
  }

  it('refuse every request with 403 TUN_ADMIN_CONFIG_LOCKED while the API has no credentials', async () => {
    for (const route of configRoutes(undefined)) {
      const r = await status(route.handle(req('x', { 'if-match': '"r"' })))
      expect(r.status).toBe(403)
      expect(r.json).toMatchObject({ code: 'TUN_ADMIN_CONFIG_LOCKED' })
    }
  })

  it('apply needs If-Match (428), answers 409 on a conflict and 422 when refused, 200 when applied', async () => {
    const { editor } = await setup()
    const apply = configRoutes(editor).find((r) => r.path === '/api/config/apply')
    if (apply === undefined) throw new Error('no apply route')
    expect((await status(apply.handle(req(WITH_WEB)))).status).toBe(428)
    expect(await status(apply.handle(req(WITH_WEB, { 'if-match': '"stale"' })))).toMatchObject({ status: 409, json: { code: 'TUN_ADMIN_CONFIG_CONFLICT' } })
    expect((await status(apply.handle(req('proxies: 7', { 'if-match': `"${revisionOf(BASE)}"` })))).status).toBe(422)
    expect((await status(apply.handle(req(WITH_WEB, { 'if-match': `"${revisionOf(BASE)}"` })))).status).toBe(200)
  })
})
