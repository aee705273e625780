// The admin API of real relay and client processes: /metrics after known traffic, 401s, the
// bind rule at start, `tunnel status` (table and --json), `tunnel diag --admin`, and what the
// status commands say when the API is missing, unreachable or refuses them.
import { afterEach, describe, expect, it } from 'vitest'
import { statusReportSchema, type StatusReport } from '../../shared/admin/status.js'
import type { DiagReport } from '../../shared/diag/index.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, spawnCli, startClient, startRelay, writeTempFile, type CliHandle } from '../helpers/cli.js'
import { basic, rawRequest } from '../helpers/admin.js'
import { closeServices, exchange, getFreePort, startEchoServer, startHashSinkServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const RELAY_ADMIN = 'webServer:\n  port: 0\n  user: admin\n  password: relay-pw\n'
const CLIENT_ADMIN = 'webServer:\n  port: 0\n  token: client-tok\n'

async function adminPort (h: CliHandle): Promise<number> {
  const line = await h.waitForLog(logMsg('admin listening'))
  return Number(line.port)
}

/** `name{labels} value` → value, from a Prometheus text exposition. */
function metric (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const h = spawnCli(args)
  const { code } = await h.exit
  return { code, stdout: h.stdout(), stderr: h.stderr() }
}

describe('admin API of running processes', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a metrics scrape after known traffic through a tcp proxy shows its byte counts, on the relay and on the client', async () => {
    const UP = 300_000
    const DOWN = 200_000
    const sink = await startHashSinkServer(DOWN)
    const relay = await startRelay({ extraYaml: `${RELAY_ADMIN}enablePrometheus: true\n` })
    const relayAdmin = await adminPort(relay.handle)
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'sink', localPort: sink.port, remotePort: 0 }], extraYaml: CLIENT_ADMIN }))
    const clientAdmin = await adminPort(client.handle)
    const { sent, reply } = await exchange(client.ports.get('sink') ?? 0, UP, { timeoutMs: 15_000 })
    expect(sent.bytes).toBe(UP)
    expect(reply.bytes).toBeGreaterThan(DOWN) // the digest line, then DOWN bytes

    const scrape = async (port: number, authorization: string): Promise<string> => {
      const r = await rawRequest(port, { path: '/metrics', headers: { authorization } })
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
      return r.text
    }
    const series = (dir: string): string => `tunnel_proxy_bytes_total{proxy="sink",type="tcp",direction="${dir}"}`
    // The counters settle once the stream has closed on both sides; then they are exact (payload bytes).
    const relayText = await pollUntil(async () => {
      const t = await scrape(relayAdmin, basic('admin', 'relay-pw'))
      return metric(t, series('out')) === reply.bytes ? t : undefined
    }, { timeoutMs: 5_000, intervalMs: 50 })
    expect(metric(relayText, series('in'))).toBe(UP)
    expect(metric(relayText, 'tunnel_proxy_streams_total{proxy="sink"}')).toBe(1)
    expect(metric(relayText, 'tunnel_proxy_streams{proxy="sink"}')).toBe(0)
    expect(metric(relayText, 'tunnel_proxy_up{proxy="sink",type="tcp"}')).toBe(1)
    expect(metric(relayText, 'tunnel_sessions')).toBe(1)
    expect(relayText).toMatch(/^tunnel_session_rtt_seconds\{client="[^"]+"\} \d/m)
    expect(metric(relayText, 'process_open_fds')).toBeGreaterThan(0)
    expect(metric(relayText, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    // The control connection carried the payload plus framing and record overhead, each way.
    const controlIn = relayText.match(/^tunnel_session_bytes_total\{client="[^"]+",direction="in"\} (\d+)$/m)?.[1]
    expect(Number(controlIn)).toBeGreaterThan(reply.bytes)
    expect(Number(controlIn)).toBeLessThan(reply.bytes * 1.05 + 10_000)

    const clientText = await pollUntil(async () => {
      const t = await scrape(clientAdmin, 'Bearer client-tok')
      return metric(t, series('in')) === UP ? t : undefined
    }, { timeoutMs: 5_000, intervalMs: 50 })
    expect(metric(clientText, series('out'))).toBe(reply.bytes)
    expect(metric(clientText, 'tunnel_proxy_streams_total{proxy="sink"}')).toBe(1)
    expect(metric(clientText, 'tunnel_logins_total')).toBe(1)
  })

  it('refuses unauthenticated requests with 401 and WWW-Authenticate; /metrics needs enablePrometheus on the relay', async () => {
    const relay = await startRelay({ extraYaml: RELAY_ADMIN })
    const port = await adminPort(relay.handle)
    const anon = await rawRequest(port)
    expect(anon.status).toBe(401)
    expect(anon.distinct['www-authenticate']).toEqual(['Basic realm="tunnel", charset="UTF-8"'])
    expect((await rawRequest(port, { headers: { authorization: basic('admin', 'wrong') } })).status).toBe(401)
    const ok = await rawRequest(port, { headers: { authorization: basic('admin', 'relay-pw') } })
    expect(ok.status).toBe(200)
    expect(statusReportSchema.safeParse(ok.json).success).toBe(true)
    expect((await rawRequest(port, { path: '/metrics', headers: { authorization: basic('admin', 'relay-pw') } })).status).toBe(404)
    expect(relay.handle.stderr()).not.toContain('relay-pw')
  })

  it('`tunnel status` prints the relay\'s sessions and proxies (public address, state, bytes, RTT), and --json', async () => {
    const echo = await startEchoServer()
    const adminPortFixed = await getFreePort()
    const relay = await startRelay({ extraYaml: `webServer:\n  port: ${adminPortFixed}\n  user: admin\n  password: relay-pw\n` })
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }], extraYaml: CLIENT_ADMIN }))
    const publicPort = client.ports.get('echo') ?? 0
    await exchange(publicPort, Buffer.alloc(1000, 1))

    const table = await cli(['status', '-c', relay.configPath])
    expect(table.stderr).toBe('')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^tunnel relay \(pid \d+, up \d+s\), listening on 127\.0\.0\.1:\d+/)
    expect(table.stdout).toMatch(/Sessions \(1; logins 1, replaced 0\)/)
    expect(table.stdout).toMatch(new RegExp(`echo\\s+tcp\\s+listening\\s+127\\.0\\.0\\.1:${publicPort}\\s+\\S+\\s+0/1\\s+1000 B\\s+1000 B`))
    expect(table.stdout).toMatch(/rtt ms/)

    const j = await cli(['status', '-c', relay.configPath, '--json'])
    const report = statusReportSchema.parse(JSON.parse(j.stdout))
    expect(report.role).toBe('relay')
    expect(report.controlAddr).toBe(`127.0.0.1:${relay.port}`)
    expect(report.sessions).toHaveLength(1)
    expect(report.sessions[0]?.rttMs).toBeGreaterThan(0)
    // How the connection travels (tcp here) and how it is secured (the test client pins no relay key).
    expect(report.sessions[0]).toMatchObject({ transport: 'tcp', security: 'noise-in' })
    expect(report.proxies).toEqual([expect.objectContaining({ name: 'echo', type: 'tcp', state: 'listening', publicAddr: `127.0.0.1:${publicPort}`, bytesIn: 1000, bytesOut: 1000, streams: { active: 0, total: 1 } })])
    expect(report.process.pid).toBe(relay.handle.pid)

    const c = await cli(['status', '--admin', `http://127.0.0.1:${await adminPort(client.handle)}`, '--admin-token', 'client-tok', '--json'])
    const cr = statusReportSchema.parse(JSON.parse(c.stdout))
    expect(cr.role).toBe('client')
    expect(cr.proxies[0]).toMatchObject({ name: 'echo', state: 'registered', publicAddr: `127.0.0.1:${publicPort}`, local: `127.0.0.1:${echo.port}`, bytesIn: 1000, bytesOut: 1000 })
    expect(cr.sessions[0]?.id).toBe(report.sessions[0]?.id)
    expect(cr.sessions[0]).toMatchObject({ transport: 'tcp', security: 'noise-in' })
  })

  it('the client\'s status follows its proxies\' phases: running, refused with the relay\'s reason, pending again when the relay is gone', async () => {
    const echo = await startEchoServer()
    const busy = await getFreePort()
    const relay = await startRelay({ extraYaml: `allowPorts:\n  - { start: 1024, end: ${busy - 1} }\n  - { start: ${busy + 1}, end: 65535 }\n` })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [{ name: 'ok', localPort: echo.port, remotePort: 0 }, { name: 'nope', localPort: echo.port, remotePort: busy }],
      extraYaml: CLIENT_ADMIN,
    }))
    const url = `http://127.0.0.1:${await adminPort(client.handle)}`
    const status = async (): Promise<StatusReport> => statusReportSchema.parse(JSON.parse((await cli(['status', '--admin', url, '--admin-token', 'client-tok', '--json'])).stdout))
    const first = await status()
    expect(first.sessions).toHaveLength(1)
    expect(first.proxies.map((p) => [p.name, p.phase, p.state, p.error?.code ?? null])).toEqual([['ok', 'running', 'registered', null], ['nope', 'refused', 'refused', 'TUN_PORT_NOT_ALLOWED']])
    expect(first.errors).toEqual({ TUN_PORT_NOT_ALLOWED: 1 })
    relay.handle.kill('SIGKILL')
    await relay.handle.exit
    const gone = await pollUntil(async () => {
      const r = await status()
      return r.sessions.length === 0 ? r : undefined
    }, { timeoutMs: 10_000, intervalMs: 200 })
    expect(gone.proxies.map((p) => [p.phase, p.state])).toEqual([['pending', 'offline'], ['pending', 'offline']])
    expect(gone.proxies[0]?.error?.code).toMatch(/^TUN_/)
    expect(gone.lastError).not.toBeNull()
    const table = await cli(['status', '--admin', url, '--admin-token', 'client-tok'])
    expect(table.stdout).toContain('not connected')
    expect(table.stdout).toMatch(/ok\s+tcp\s+pending\s.*TUN_/)
  })

  it('starts a relay and a client whose admin API is on 0.0.0.0 without credentials (frp\'s monitor.frps.toml): /metrics answers with our metrics and no tenant series, the dashboard and /api/* answer 401', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: 'enablePrometheus: true\nwebServer:\n  addr: 0.0.0.0\n  port: 0\n' })
    const relayAdmin = await adminPort(relay.handle)
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }], extraYaml: 'webServer:\n  addr: "0.0.0.0"\n  port: 0\n' }))
    const clientAdmin = await adminPort(client.handle)
    for (const [who, h, port] of [['relay', relay.handle, relayAdmin], ['client', client.handle, clientAdmin]] as const) {
      expect(h.logs.filter((l) => l.code === 'TUN_ADMIN_INSECURE').length, who).toBe(1)
      const m = await rawRequest(port, { path: '/metrics' })
      expect(m.status, who).toBe(200)
      expect(m.text).toMatch(/^tunnel_sessions 1$/m)
      expect(m.text).toMatch(/^tunnel_logins_total \d+$/m)
      expect(m.text).not.toMatch(/proxy="|client="|visitor="/)
      for (const [method, path] of [['GET', '/'], ['GET', '/api/status'], ['GET', '/api/history'], ['GET', '/api/diag'], ['POST', '/api/reload']] as const) {
        const r = await rawRequest(port, { method, path })
        expect(r.status, `${who} ${method} ${path}`).toBe(401)
        expect(r.text).toContain('webServer.user and webServer.password')
      }
    }
    // The proxy works: only the admin API is held back.
    expect(client.ports.get('echo')).toBeGreaterThan(0)
  })

  it('`tunnel diag --admin` prints the report the running relay and client make of their own sockets', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: RELAY_ADMIN })
    const relayAdmin = await adminPort(relay.handle)
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }], extraYaml: CLIENT_ADMIN }))
    const r = await cli(['diag', '--admin', `http://admin:relay-pw@127.0.0.1:${relayAdmin}`, '--json', '--watch', '0'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as DiagReport
    expect(report.role).toBe('relay')
    expect(report.control).toHaveLength(1)
    expect(report.control[0]?.pid).toBe(relay.handle.pid)
    expect(report.listeners.map((l) => [l.port, l.role])).toEqual(expect.arrayContaining([[relay.port, 'control'], [client.ports.get('echo'), 'proxy']]))
    const human = await cli(['diag', '--admin', `127.0.0.1:${await adminPort(client.handle)}`, '--admin-token', 'client-tok', '--watch', '0'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^tunnel diag: client \(/)
    expect(human.stdout).toMatch(new RegExp(`Control connection \\(established to 127\\.0\\.0\\.1 port ${relay.port}\\)`))
    // The client's report carries the relay's side of the same connection, asked over it: the
    // relay's socket is local port relay.port, its peer the client's own end.
    expect(human.stdout).toContain('Control connection, seen from the relay (asked over the connection)')
    const j = await cli(['diag', '--admin', `127.0.0.1:${await adminPort(client.handle)}`, '--admin-token', 'client-tok', '--watch', '0', '--json'])
    const clientReport = JSON.parse(j.stdout) as DiagReport
    const mine = clientReport.control[0]
    const theirs = clientReport.relaySide !== undefined && 'control' in clientReport.relaySide ? clientReport.relaySide.control : []
    expect(theirs).toHaveLength(1)
    expect(theirs[0]).toMatchObject({ local: mine?.peer, peer: mine?.local, pid: relay.handle.pid, mss: expect.any(Number) })
    const bad = await cli(['diag', '--admin', `127.0.0.1:${relayAdmin}`, '--port', '80'])
    expect(bad.code).toBe(2)
  })

  it('status: no admin API in the file, nothing listening, or wrong credentials, each with its code', async () => {
    const relay = await startRelay({ extraYaml: RELAY_ADMIN })
    const port = await adminPort(relay.handle)
    const none = await cli(['status', '-c', await writeTempFile('frpc-none.yml', 'serverAddr: 127.0.0.1\nproxies: []\n')])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('has no webServer.port')
    expect(none.stderr).toContain('TUN_ADMIN_NOT_CONFIGURED')
    const zero = await cli(['status', '-c', relay.configPath])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('admin listening')
    const away = await cli(['status', '--admin', `127.0.0.1:${await getFreePort()}`])
    expect(away.code).toBe(1)
    expect(away.stderr).toContain('TUN_ADMIN_UNREACHABLE')
    const wrong = await cli(['status', '--admin', `http://admin:nope@127.0.0.1:${port}`])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('TUN_ADMIN_AUTH')
    expect(wrong.stderr).not.toContain('nope')
  })
})

