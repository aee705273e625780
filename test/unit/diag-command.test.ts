// `tunnel diag`: what it looks at for a relay, a client or bare ports, and the built CLI's
// exit codes and output on loopback (a relay and a client it starts, ports it opens).
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { clientTarget, portsTarget, relayTarget } from '../../cli/commands/diag-command.js'
import { ExitCode } from '../../cli/exit-codes.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import type { DiagReport } from '../../shared/diag/index.js'
import { cleanupCli, clientYaml, spawnCli, startClient, startRelay, writeTempFile } from '../helpers/cli.js'

afterEach(async () => { await cleanupCli() })

async function listen (backlog?: number): Promise<Server> {
  const server = createServer((s) => { s.destroy() })
  await new Promise<void>((resolve) => { server.listen({ host: '127.0.0.1', port: 0, ...(backlog === undefined ? {} : { backlog }) }, resolve) })
  return server
}

const portOf = (s: Server): number => (s.address() as { port: number }).port

async function diag (args: string[]): Promise<{ code: number | null, report: DiagReport | undefined, stdout: string, stderr: string }> {
  const h = spawnCli(['diag', '--log-format', 'json', ...args])
  const { code } = await h.exit
  let report: DiagReport | undefined
  try { report = JSON.parse(h.stdout()) as DiagReport } catch { report = undefined }
  return { code, report, stdout: h.stdout(), stderr: h.stderr() }
}

describe('diag targets', () => {
  it('looks at the relay\'s bindPort (backlog 511), its other listeners and its control connections', () => {
    const { config } = parseServerConfig('bindPort: 7000\nauth:\n  token: x\ntransport:\n  heartbeatTimeout: 60\n', 'frps.yml')
    const t = relayTarget(config, [8080])
    expect(t.listen).toEqual([{ port: 7000, role: 'control', backlogAsked: 511 }, { port: 8080, role: 'port', backlogAsked: null }])
    expect(t.control).toEqual({ by: 'local-port', port: 7000 })
    expect(t.ownedListenerBacklog).toBe(511)
    expect(t.heartbeat).toEqual({ intervalS: null, timeoutS: 60 })
    expect(t.sockets).toEqual([{ kind: 'control', keepAliveMs: 30_000 }, { kind: 'visitor', keepAliveMs: null }])
    expect(relayTarget(parseServerConfig('bindPort: 0\n', 'frps.yml').config, []).control).toBeNull()
  })

  it('looks at the client\'s connection to serverAddr:serverPort with its heartbeat', () => {
    const { config } = parseClientConfig('serverAddr: 10.200.2.10\nserverPort: 7001\ntransport:\n  heartbeatInterval: 5\n  heartbeatTimeout: 20\n', 'frpc.yml')
    const t = clientTarget(config, ['10.200.2.10'], [])
    expect(t.control).toEqual({ by: 'peer', port: 7001, hosts: ['10.200.2.10'] })
    expect(t.listen).toEqual([])
    expect(t.heartbeat).toEqual({ intervalS: 5, timeoutS: 20 })
    expect(t.sockets.map((s) => s.kind)).toEqual(['control', 'local-service'])
  })

  it('looks at bare ports with the backlog unknown', () => {
    expect(portsTarget([9000])).toMatchObject({ role: 'ports', listen: [{ port: 9000, role: 'port', backlogAsked: null }], control: null, heartbeat: null })
  })
})

describe('tunnel diag (built CLI, loopback)', () => {
  it('refuses a bad port or window with exit 2', async () => {
    const bad = await diag(['--port', '70000'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--port 70000: expected a port from 1 to 65535 \(TUN_USAGE\)/)
    expect((await diag(['--watch', '-1'])).code).toBe(2)
    const missing = await diag(['-c', '/nonexistent/frps.yml'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/TUN_CONFIG_READ/)
  })

  it('reports a listener as JSON on stdout, logs on stderr, exit 0', async () => {
    const server = await listen(7)
    try {
      const r = await diag(['--port', String(portOf(server)), '--json', '--watch', '0'])
      expect(r.code).toBe(0)
      expect(r.report?.listeners).toEqual([expect.objectContaining({ port: portOf(server), local: `127.0.0.1:${portOf(server)}`, effective: 7, queued: 0, full: false, pid: expect.any(Number) })])
      expect(r.report?.fds.source).toBe(`owner of port ${portOf(server)}`)
      expect(r.report?.unavailable).toEqual([])
    } finally {
      server.close()
    }
  })

  it('says when ss is missing and still exits 0', async () => {
    const r = await diag(['--port', '1', '--json', '--watch', '0', '--ss', '/nonexistent/ss'])
    expect(r.code).toBe(0)
    expect(r.report?.unavailable[0]).toMatchObject({ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: '/nonexistent/ss not found (install iproute2)' })
    expect(r.stderr).toMatch(/not available: \/nonexistent\/ss not found/)
  })

  it('exits 3 with --strict when a finding is a warning (nothing listens on the port)', async () => {
    const server = await listen()
    const port = portOf(server)
    await new Promise((resolve) => server.close(resolve))
    const r = await diag(['--port', String(port), '--watch', '0', '--strict'])
    expect(r.code).toBe(ExitCode.ATTENTION)
    expect(r.stdout).toMatch(new RegExp(`WARN +nothing listens on port ${port} here`))
    expect(r.stderr).toMatch(/TUN_DIAG_FINDINGS/)
    expect((await diag(['--port', String(port), '--watch', '0'])).code).toBe(0)
  })

  it('finds a running relay\'s control connection, proxy listener and owner, and the client\'s side', async () => {
    const relay = await startRelay()
    const service = await listen()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'web', localPort: portOf(service), remotePort: 0 }] }))
    try {
      const frpsPath = await writeTempFile('diag-frps.yml', `bindAddr: 127.0.0.1\nbindPort: ${relay.port}\nauth:\n  token: x\n`)
      const r = await diag(['-c', frpsPath, '--json', '--watch', '0.2'])
      expect(r.code).toBe(0)
      expect(r.report?.role).toBe('relay')
      expect(r.report?.control).toHaveLength(1)
      expect(r.report?.control[0]?.pid).toBe(relay.handle.pid)
      expect(r.report?.control[0]?.keepaliveTimer?.remainingMs).toBeLessThanOrEqual(30_000)
      const remotePort = client.ports.get('web')
      expect(r.report?.listeners.map((l) => [l.port, l.role, l.backlogAsked, l.pid])).toEqual(expect.arrayContaining([
        [relay.port, 'control', 511, relay.handle.pid],
        [remotePort, 'proxy', 511, relay.handle.pid],
      ]))
      expect(r.report?.fds).toMatchObject({ pid: relay.handle.pid, source: `owner of port ${relay.port}` })
      const c = await diag(['-c', client.configPath, '--json', '--watch', '0'])
      expect(c.report?.role).toBe('client')
      expect(c.report?.control).toHaveLength(1)
      expect(c.report?.control[0]?.pid).toBe(client.handle.pid)
      expect(c.report?.keepalive.heartbeat).toEqual({ intervalS: 10, timeoutS: 40 })
      expect(c.report?.fds.pid).toBe(client.handle.pid)
    } finally {
      service.close()
    }
  })
})
