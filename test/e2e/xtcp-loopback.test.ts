// xtcp between two clients on one machine (loopback): the visitor's connections go directly to
// the home client over a punched UDP path (udx under our records and mux), the relay carries only
// the introduction, and a visitor whose path cannot come up falls back to its stcp visitor.
import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Relay, relayStatus } from '../../server/index.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { localAddresses } from '../../shared/stun/index.js'
import { silentLogger } from '../../shared/log.js'
import type { XtcpVisitor } from '../../client/visitors/xtcp.js'
import { ClientStatus } from '../../client/status.js'
import { TunnelMetrics } from '../../shared/metrics/index.js'
import { renderStatus } from '../../shared/admin/index.js'
import { clientConfig, closeInProcess, IN_PROCESS_TOKEN, type RunningClient, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'

const SECRET = 'a-long-random-secret-for-xtcp-tests'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

/** Sends `payload` through `port` and resolves with the echo (all of it, then the server's end). */
async function echoAll (port: number, payload: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, host)
    const parts: Buffer[] = []
    let got = 0
    socket.on('data', (d: Buffer) => {
      parts.push(d)
      got += d.length
      if (got >= payload.length) socket.end()
    })
    socket.on('error', reject)
    socket.on('close', () => { resolve(Buffer.concat(parts)) })
    socket.write(payload)
  })
}

async function setup (visitorExtra = '', xtcpSecret = SECRET, homeExtra = ''): Promise<{ relayProxyBytes: () => Promise<number>, visitorPort: number, xtcp: () => XtcpVisitor, home: RunningClient, laptop: RunningClient }> {
  const { relay, port } = await startRelayInProcess()
  const echo = await startEchoServer()
  const home = await startClientInProcess(clientConfig(port, [
    'proxies:',
    `  - { name: p2p, type: xtcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: ['*']${homeExtra} }`,
    `  - { name: p2p-relay, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: ['*'] }`,
  ].join('\n'), 'home.yml'))
  const visitorPort = await getFreePort()
  const laptop = await startClientInProcess(clientConfig(port, [
    'visitors:',
    `  - { name: p2p, type: xtcp, serverName: p2p, secretKey: ${xtcpSecret}, bindPort: ${visitorPort}, fallbackTo: relayed, fallbackTimeoutMs: 3000${visitorExtra} }`,
    `  - { name: relayed, type: stcp, serverName: p2p-relay, secretKey: ${SECRET}, bindPort: -1 }`,
  ].join('\n'), 'laptop.yml'))
  const xtcp = (): XtcpVisitor => laptop.client.visitorEntries().find((e) => e.config.name === 'p2p')?.visitor as XtcpVisitor
  const relayProxyBytes = async (): Promise<number> => {
    const s = await relayStatus(relay)
    return s.proxies.filter((p) => p.name === 'p2p' || p.name === 'p2p-relay').reduce((n, p) => n + p.bytesIn + p.bytesOut, 0)
  }
  return { relayProxyBytes, visitorPort, xtcp, home, laptop }
}

describe('xtcp on loopback', () => {
  it.skipIf(!localAddresses().includes('::1'))('punches over IPv6: with the relay (and its STUN server) on ::1 and only STUN-seen addresses offered, the path is [::1] to [::1]', async () => {
    const v6Relay = async (): Promise<{ relay: Relay, port: number }> => {
      const relay = new Relay(parseServerConfig(`bindAddr: "::1"\nbindPort: 0\nauth:\n  token: ${IN_PROCESS_TOKEN}\n`, 'frps.yml', {}).config, silentLogger())
      return { relay, port: (await relay.start()).port }
    }
    // The STUN server takes UDP on the TCP port the relay got, which another process may hold: try again (bounded).
    let { relay, port } = await v6Relay()
    for (let attempt = 1; attempt < 5 && relay.stunPorts === undefined; attempt++) {
      relay.destroy();
      ({ relay, port } = await v6Relay())
    }
    try {
      expect(relay.stunPorts?.port).toBe(port)
      const echo = await startEchoServer()
      const v6 = (yaml: string, file: string): ReturnType<typeof parseClientConfig>['config'] => parseClientConfig(`serverAddr: "::1"\nserverPort: ${port}\nauth:\n  token: ${IN_PROCESS_TOKEN}\n${yaml}`, file, {}).config
      const noAssist = 'natTraversal: { disableAssistedAddrs: true }'
      await startClientInProcess(v6(`proxies:\n  - { name: p2p, type: xtcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: ['*'], ${noAssist} }\n`, 'home.yml'))
      const visitorPort = await getFreePort()
      const laptop = await startClientInProcess(v6(`visitors:\n  - { name: p2p, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: ${visitorPort}, ${noAssist} }\n`, 'laptop.yml'))
      const payload = randomBytes(128 * 1024)
      expect((await echoAll(visitorPort, payload)).equals(payload)).toBe(true)
      const xtcp = laptop.client.visitorEntries().find((e) => e.config.name === 'p2p')?.visitor as XtcpVisitor
      expect(xtcp.p2pStatus()).toMatchObject({ path: 'p2p', successes: 1, connections: { direct: 1, fallback: 0 } })
      expect(xtcp.p2pStatus().peer).toMatch(/^\[::1\]:\d+$/)
    } finally {
      await closeInProcess()
      relay.destroy()
    }
  })

  it('connects directly with natTraversal.disableAssistedAddrs on both sides: each offers only the address the STUN server saw', async () => {
    const noAssist = ', natTraversal: { disableAssistedAddrs: true }'
    const { relayProxyBytes, visitorPort, xtcp, home } = await setup(noAssist, SECRET, noAssist)
    expect(xtcp().config.disableAssistedAddrs).toBe(true)
    expect(home.client.proxyEntries().find((e) => e.config.name === 'p2p')?.config).toMatchObject({ disableAssistedAddrs: true })
    const payload = randomBytes(256 * 1024)
    expect((await echoAll(visitorPort, payload)).equals(payload)).toBe(true)
    expect(xtcp().p2pStatus()).toMatchObject({ path: 'p2p', successes: 1, connections: { direct: 1, fallback: 0 } })
    expect(await relayProxyBytes()).toBeLessThan(4096)
  })

  it('connects directly: the bytes cross byte-exact and the relay carries only the introduction', async () => {
    const { relayProxyBytes, visitorPort, xtcp, laptop, home } = await setup()
    const payload = randomBytes(4 * 1024 * 1024)
    const back = await echoAll(visitorPort, payload)
    expect(back.equals(payload)).toBe(true)
    const status = xtcp().p2pStatus()
    expect(status).toMatchObject({ path: 'p2p', attempts: 1, successes: 1, connections: { direct: 1, fallback: 0, refused: 0 } })
    // Two introduction messages (each under 1 KiB with its MAC): nothing of the 4 MiB.
    expect(await relayProxyBytes()).toBeLessThan(4096)
    // The same in the status report and the metrics.
    const status2 = new ClientStatus(laptop.client)
    const report = await status2.report()
    expect(report.visitors?.find((v) => v.name === 'p2p')?.p2p).toMatchObject({ path: 'p2p', successes: 1, reason: null })
    const text = await new TunnelMetrics({ processMetrics: false }).render(async () => await status2.report())
    expect(text).toContain('tunnel_visitor_p2p_path{visitor="p2p",path="p2p"} 1')
    expect(text).toContain('tunnel_visitor_punch_successes_total{visitor="p2p"} 1')
    // The home side: its xtcp proxy's direct paths, in the status and the metrics.
    const homeStatus = new ClientStatus(home.client)
    expect((await homeStatus.report()).proxies.find((p) => p.name === 'p2p')?.p2p).toMatchObject({ paths: { active: 1, total: 1 }, failures: {}, punchRefusals: {}, peerNat: { mapping: 'none' } })
    expect(await new TunnelMetrics({ processMetrics: false }).render(async () => await homeStatus.report())).toContain('tunnel_proxy_p2p_paths{proxy="p2p"} 1')
    expect(renderStatus(report)).toMatch(/p2p: path p2p \(peer [\d.]+:\d+\); punches 1\/1, connected in \d+ ms; connections direct 1, via relay 0, refused 0/)
  })

  it('carries 200 concurrent connections over the one direct path', async () => {
    const { relayProxyBytes, visitorPort, xtcp } = await setup()
    expect(await echoOnce(visitorPort)).toBe(true)
    const results = await Promise.all(Array.from({ length: 200 }, async () => await echoOnce(visitorPort, randomBytes(4096), 15_000)))
    expect(results.filter((ok) => ok)).toHaveLength(200)
    expect(xtcp().p2pStatus()).toMatchObject({ path: 'p2p', attempts: 1, connections: { direct: 201, fallback: 0 } })
    expect(await relayProxyBytes()).toBeLessThan(4096)
  })
})

describe('xtcp falling back to the relay', () => {
  it('hands connections to the stcp fallback when no direct path comes (here: the xtcp visit is refused), byte-exact, and says why', async () => {
    const { relayProxyBytes, visitorPort, xtcp } = await setup('', 'not-the-xtcp-secret-at-all')
    const payload = randomBytes(1024 * 1024)
    expect((await echoAll(visitorPort, payload)).equals(payload)).toBe(true)
    const status = xtcp().p2pStatus()
    expect(status).toMatchObject({ path: 'relay', reason: 'refused', attempts: 1, successes: 0, failures: { refused: 1 }, connections: { direct: 0, fallback: 1 } })
    // The relay carried this one.
    expect(await relayProxyBytes()).toBeGreaterThanOrEqual(2 * payload.length)
    // Within minRetryInterval no new punch is tried: the next connection falls back at once.
    expect(await echoOnce(visitorPort)).toBe(true)
    expect(xtcp().p2pStatus()).toMatchObject({ attempts: 1, connections: { fallback: 2 } })
  })

  it('ends the open transfer with an error when the direct path dies, and sends the next connection through the fallback', async () => {
    const { visitorPort, xtcp, home } = await setup()
    expect(await echoOnce(visitorPort)).toBe(true)
    const path = xtcp().path
    expect(path).toBeDefined()
    const socket = connect(visitorPort, '127.0.0.1')
    const ended = new Promise<string>((resolve) => {
      socket.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
      socket.on('close', () => { resolve('closed') })
    })
    socket.resume()
    socket.write(randomBytes(64 * 1024))
    await new Promise((resolve) => setTimeout(resolve, 200))
    // The home client's side of the path goes away (what a NAT that drops the path looks like to it).
    for (const e of home.client.proxyEntries()) e.p2p?.close()
    expect(await ended).toBe('ECONNRESET')
    expect(await echoOnce(visitorPort)).toBe(true)
    expect(xtcp().p2pStatus()).toMatchObject({ path: 'relay', reason: 'closed', failures: { closed: 1 }, connections: { direct: 2, fallback: 1 } })
  })
})
