// POST /api/reload and `tunnel reload`, end to end: an admin server in this process with the
// client's reload handler (cli/reload-handler.ts: re-read and check the file, then apply) and an
// apply function written here that diffs proxies by name; the real CLI asks it over HTTP.
import { writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { reloadFromFile } from '../../cli/reload-handler.js'
import type { ReloadOutcome } from '../../shared/admin/reload.js'
import { reloadRoute, statusRoute } from '../../shared/admin/routes.js'
import type { ClientConfig, ProxyConfig } from '../../shared/config/index.js'
import { parseClientConfig } from '../../shared/config/index.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, spawnCli, writeTempFile } from '../helpers/cli.js'
import { closeAdminServers, rawRequest, startAdmin } from '../helpers/admin.js'
import { getFreePort } from '../helpers/services.js'
import { statusFixture } from '../helpers/status-fixture.js'

afterEach(async () => {
  await closeAdminServers()
  await cleanupCli()
})

const proxyYaml = (name: string, localPort: number): string => `  - { name: ${name}, type: tcp, localPort: ${localPort}, remotePort: 0 }`
const fileText = (adminPort: number, proxies: string[], extra = ''): string =>
  ['serverAddr: 127.0.0.1', 'serverPort: 7000', 'auth:', '  token: t', 'webServer:', `  port: ${adminPort}`, extra, 'proxies:', ...proxies].join('\n') + '\n'

/** A running config and an apply step that diffs the proxies by name, as the client will. */
class FakeRunningClient {
  config: ClientConfig
  applied = 0
  constructor (config: ClientConfig) { this.config = config }
  async apply (next: ClientConfig): Promise<ReloadOutcome> {
    await Promise.resolve()
    const byName = (list: ProxyConfig[]): Map<string, string> => new Map(list.map((p) => [p.name, JSON.stringify(p)]))
    const was = byName(this.config.proxies)
    const now = byName(next.proxies)
    const outcome = {
      ok: true,
      added: [...now.keys()].filter((n) => !was.has(n)),
      removed: [...was.keys()].filter((n) => !now.has(n)),
      changed: [...now.keys()].filter((n) => was.has(n) && was.get(n) !== now.get(n)),
      errors: [],
    }
    this.config = next
    this.applied++
    return outcome
  }
}

/** An admin server with the reload handler for `file`; the file names the server's port (written after it binds). */
async function reloadableClient (proxies: string[], credentials = { user: '', password: '', token: '' }, extra = ''): Promise<{ file: string, port: number, running: FakeRunningClient }> {
  const file = await writeTempFile(`frpc-reload-${Math.random().toString(36).slice(2)}.yml`, '')
  let running: FakeRunningClient | undefined
  const { port } = await startAdmin({
    credentials,
    routes: [reloadRoute(reloadFromFile(file, async (next) => await (running as FakeRunningClient).apply(next), {}))],
  })
  await writeFile(file, fileText(port, proxies, extra))
  running = new FakeRunningClient(parseClientConfig(fileText(port, proxies, extra), file, {}).config)
  return { file, port, running }
}

async function reload (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const h = spawnCli(['reload', ...args])
  const { code } = await h.exit
  return { code, stdout: h.stdout(), stderr: h.stderr() }
}

describe('tunnel reload', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('-c FILE posts to the admin API named in the file and prints what was added, removed and changed (exit 0)', async () => {
    const { file, port, running } = await reloadableClient([proxyYaml('ssh', 22), proxyYaml('web', 80)])
    await writeFile(file, fileText(port, [proxyYaml('ssh', 2222), proxyYaml('db', 5432)]))
    const r = await reload(['-c', file])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('reload: ok\n  added    db\n  removed  web\n  changed  ssh\n')
    expect(running.applied).toBe(1)
    expect(running.config.proxies.map((p) => p.name)).toEqual(['ssh', 'db'])
  })

  it('an unchanged file: ok, nothing changed; --json prints the outcome object', async () => {
    const { file } = await reloadableClient([proxyYaml('ssh', 22)])
    expect((await reload(['-c', file])).stdout).toBe('reload: ok, nothing changed\n')
    const j = await reload(['-c', file, '--json'])
    expect(JSON.parse(j.stdout)).toEqual({ ok: true, added: [], removed: [], changed: [], errors: [] })
  })

  it('an invalid file is refused with 422 and its file:line:col errors; the running config stays (exit 2)', async () => {
    const { file, port, running } = await reloadableClient([proxyYaml('ssh', 22)])
    await writeFile(file, fileText(port, [proxyYaml('ssh', 22), '  - { name: bad, type: tcp, localPort: 70000 }']))
    const raw = await rawRequest(port, { method: 'POST', path: '/api/reload' })
    expect(raw.status).toBe(422)
    const r = await reload(['--admin', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('reload refused; the running config stays:')
    expect(r.stderr).toMatch(/frpc-reload-\w+\.yml:10:\d+ proxies\[1\]\.localPort: 70000 is outside 1-65535 \(TUN_CONFIG_RANGE\)/)
    expect(r.stderr).toContain('TUN_RELOAD_REFUSED')
    expect(running.applied).toBe(0)
    expect(running.config.proxies.map((p) => p.name)).toEqual(['ssh'])
  })

  it('uses the credentials of the file; wrong ones are refused (401 → exit 2, TUN_ADMIN_AUTH)', async () => {
    const { file, port } = await reloadableClient([proxyYaml('ssh', 22)], { user: '', password: '', token: 'reload-token' }, '  token: reload-token')
    expect((await reload(['-c', file])).code).toBe(0)
    const wrong = await reload(['--admin', `127.0.0.1:${port}`, '--admin-token', 'nope'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('TUN_ADMIN_AUTH')
    expect(wrong.stderr).not.toContain('reload-token')
  })

  it('a process without reload (a relay) answers 404: TUN_RELOAD_UNAVAILABLE, exit 2', async () => {
    const { port } = await startAdmin({ routes: [statusRoute(async () => await Promise.resolve(statusFixture()))] })
    const r = await reload(['--admin', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('does not offer reload')
    expect(r.stderr).toContain('TUN_RELOAD_UNAVAILABLE')
  })

  it('nothing listening: TUN_ADMIN_UNREACHABLE, exit 1; no -c and no --admin: usage, exit 2', async () => {
    const port = await getFreePort()
    const r = await reload(['--admin', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('TUN_ADMIN_UNREACHABLE')
    const none = await reload([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('TUN_USAGE')
  })
})
