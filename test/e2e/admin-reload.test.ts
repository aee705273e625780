// `tunnel reload` end to end: a real relay and client (with webServer), the file edited, the CLI
// posting to the client's admin API, which runs the same reload as SIGHUP; `tunnel status` shows
// the result. Plus the HTTP layer's refusals (no reload on a relay, nothing listening).
import { readFile, writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { statusRoute } from '../../shared/admin/routes.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, spawnCli, startClient, startRelay, type CliHandle } from '../helpers/cli.js'
import { closeAdminServers, startAdmin } from '../helpers/admin.js'
import { closeServices, echoOnce, getFreePort, holdPort, probePort, startEchoServer } from '../helpers/services.js'
import { statusFixture } from '../helpers/status-fixture.js'

afterEach(async () => {
  await closeAdminServers()
  await cleanupCli()
  await closeServices()
})

async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string, handle: CliHandle }> {
  const h = spawnCli(args)
  const { code } = await h.exit
  return { code, stdout: h.stdout(), stderr: h.stderr(), handle: h }
}

const reload = async (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> => await cli(['reload', ...args])

interface StatusProxy { name: string, state: string, phase: string, remotePort?: number | null }

describe('tunnel reload', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  // A relay, a client and nine short CLI runs in a row: the hang guard is sized for them.
  it('adds and removes proxies through the admin API; status shows them; a broken file is refused with its place (exit 2)', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const admin = await getFreePort()
    const [sshPort, webPort] = [await getFreePort(), await getFreePort()]
    const extraYaml = `webServer:\n  port: ${admin}\n  token: reload-token`
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml, proxies: [{ name: 'ssh', localPort: echo.port, remotePort: sshPort }] }))
    const file = client.configPath
    await writeFile(file, clientYaml({ serverPort: relay.port, extraYaml, proxies: [{ name: 'web', localPort: echo.port, remotePort: webPort }] }))

    const r = await cli(['reload', '-c', file])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('reload: applied\n  added    web\n  removed  ssh\n  changed  -\n')
    expect(await echoOnce(webPort)).toBe(true)
    expect(await probePort(sshPort)).toBe('refused')

    const status = await cli(['status', '-c', file, '--json'])
    expect(status.code).toBe(0)
    const proxies = (JSON.parse(status.stdout) as { proxies: StatusProxy[] }).proxies
    expect(proxies.map((p) => p.name)).toEqual(['web'])
    expect(proxies[0]?.state).toBe('registered')
    expect(proxies[0]?.phase).toBe('running')
    const table = await cli(['status', '-c', file])
    expect(table.stdout).toMatch(/web\s+tcp\s+running/)

    // One proxy the relay refuses (its port is taken): the rest is applied, --json says partial
    // with the proxy and its code, exit 3; status shows the refused phase with the code.
    const busy = await holdPort()
    await writeFile(file, clientYaml({ serverPort: relay.port, extraYaml, proxies: [{ name: 'web', localPort: echo.port, remotePort: webPort }, { name: 'taken', localPort: echo.port, remotePort: busy.port }] }))
    const partial = await cli(['reload', '-c', file, '--json'])
    expect(partial.code).toBe(3)
    expect(JSON.parse(partial.stdout)).toEqual({ status: 'partial', added: ['taken'], removed: [], changed: [], errors: [{ proxy: 'taken', code: 'TUN_PORT_IN_USE', message: expect.stringContaining(String(busy.port)) }] })
    const refusedStatus = JSON.parse((await cli(['status', '-c', file, '--json'])).stdout) as { proxies: StatusProxy[] }
    expect(refusedStatus.proxies.find((p) => p.name === 'taken')).toMatchObject({ phase: 'refused', error: { code: 'TUN_PORT_IN_USE' } })
    expect(await echoOnce(webPort)).toBe(true)
    await busy.close()
    await writeFile(file, clientYaml({ serverPort: relay.port, extraYaml, proxies: [{ name: 'web', localPort: echo.port, remotePort: webPort }] }))
    expect((await cli(['reload', '-c', file])).code).toBe(0)

    const good = await readFile(file, 'utf8')
    await writeFile(file, good.replace(`localPort: ${echo.port}`, 'localPort: 70000'))
    const place = /frpc-\d+\.yml:\d+:\d+ proxies\[0\]\.localPort: 70000 is outside 1-65535 \(TUN_CONFIG_RANGE\)/
    // -c reads the file itself (for webServer) and stops at its errors before asking anything.
    const local = await cli(['reload', '-c', file])
    expect(local.code).toBe(2)
    expect(local.stderr).toMatch(place)
    // Asked directly, the client re-reads the file and refuses it with the same errors.
    const bad = await cli(['reload', '--admin', `127.0.0.1:${admin}`, '--admin-token', 'reload-token'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('reload refused; the running config stays:')
    expect(bad.stderr).toMatch(place)
    expect(await echoOnce(webPort)).toBe(true)
    // Three reloads applied (the refused one changed nothing), and the client never reconnected.
    expect(client.handle.logs.filter((l) => l.msg === 'reloaded')).toHaveLength(3)
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting')).toBe(false)

    const wrong = await cli(['reload', '--admin', `127.0.0.1:${admin}`, '--admin-token', 'nope'])
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
