// UDP proxies through the real CLI: one relay (public sockets dual-stack on '::') and one client
// with several udp proxies in front of loopback echo services. Visitors send only to loopback.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay, type ClientHandle, type LogLine, type RelayHandle } from '../helpers/cli.js'
import { closeUdp, freeUdpPort, holdUdpPort, startUdpEcho, udpVisitor, type UdpEcho, type UdpVisitor } from '../helpers/udp.js'

const VISITORS = 1_000
/** Visitors that start at once; each sends its datagrams, then the next wave starts. */
const VISITOR_WAVE = 100
const PER_VISITOR = 3
const NUMBERED = 10_000
const WINDOW = 100
const SHORT_IDLE_SECONDS = 1

let relay: RelayHandle
let client: ClientHandle
const echo: Record<string, UdpEcho> = {}
const ports: Record<string, number> = {}

beforeAll(async () => {
  for (const name of ['many', 'seq', 'big', 'short', 'dual']) echo[name] = await startUdpEcho()
  const deadPort = await freeUdpPort()
  relay = await startRelay({ extraYaml: 'proxyBindAddr: "::"\nlog:\n  level: debug' })
  const proxies = Object.entries(echo).map(([name, e]) => ({
    name,
    type: 'udp' as const,
    localPort: e.port,
    remotePort: 0,
    ...(name === 'short' ? { extra: { idleTimeout: SHORT_IDLE_SECONDS } } : {}),
  }))
  proxies.push({ name: 'dead', type: 'udp', localPort: deadPort, remotePort: 0 })
  client = await startClient(clientYaml({ serverPort: relay.port, proxies, extraYaml: 'log:\n  level: debug' }))
  for (const name of [...Object.keys(echo), 'dead']) {
    const port = client.ports.get(name)
    if (port === undefined) throw new Error(`udp proxy ${name} refused: ${client.refused.get(name) ?? '?'}`)
    ports[name] = port
  }
}, E2E_TEST_TIMEOUT_MS)

afterAll(async () => {
  await cleanupCli()
  await closeUdp()
})

const port = (name: string): number => ports[name] ?? 0
const linesOf = (logs: readonly LogLine[], msg: string, proxy: string): LogLine[] => logs.filter((l) => l.msg === msg && l.proxy === proxy)

describe('udp proxies through the tunnel', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('gives 1,000 distinct visitors their own replies and never another visitor\'s', async () => {
    const started = performance.now()
    const visitors: UdpVisitor[] = []
    for (let wave = 0; wave < VISITORS / VISITOR_WAVE; wave++) {
      const batch = await Promise.all(Array.from({ length: VISITOR_WAVE }, async () => await udpVisitor(port('many'))))
      batch.forEach((v, j) => {
        const i = wave * VISITOR_WAVE + j
        for (let k = 0; k < PER_VISITOR; k++) v.send(`visitor ${i} datagram ${k}`)
      })
      await Promise.all(batch.map(async (v) => { await v.waitFor(PER_VISITOR) }))
      visitors.push(...batch)
    }
    visitors.forEach((v, i) => {
      expect(v.received.map((b) => b.toString()).sort()).toEqual(Array.from({ length: PER_VISITOR }, (_, k) => `visitor ${i} datagram ${k}`))
    })
    // One flow, hence one local source port, per visitor.
    expect(echo.many?.sources.size).toBe(VISITORS)
    expect(echo.many?.received).toBe(VISITORS * PER_VISITOR)
    console.info(`1,000 visitors × ${PER_VISITOR} datagrams in ${(performance.now() - started).toFixed(0)} ms`)
    for (const v of visitors) v.close()
  })

  it('carries 10,000 numbered datagrams in windows of 100 with no loss', async () => {
    const started = performance.now()
    const v = await udpVisitor(port('seq'))
    for (let base = 0; base < NUMBERED; base += WINDOW) {
      for (let n = base; n < base + WINDOW; n++) {
        const d = Buffer.alloc(64, n & 0xff)
        d.writeUInt32BE(n, 0)
        v.send(d)
      }
      await v.waitFor(base + WINDOW)
    }
    const seen = new Set(v.received.map((d) => d.readUInt32BE(0)))
    expect(seen.size).toBe(NUMBERED)
    expect(v.received.every((d) => d.length === 64 && d[63] === (d.readUInt32BE(0) & 0xff))).toBe(true)
    console.info(`10,000 datagrams in ${(performance.now() - started).toFixed(0)} ms`)
  })

  it('carries 9,000, 65,000 and 65,507-byte datagrams whole, and an empty one', async () => {
    const v = await udpVisitor(port('big'))
    const sizes = [9_000, 65_000, 65_507, 0]
    for (const [i, size] of sizes.entries()) {
      const d = randomBytes(size)
      v.send(d)
      await v.waitFor(i + 1)
      expect(v.received[i]?.length).toBe(size)
      expect(v.received[i]?.equals(d)).toBe(true)
    }
  })

  it('expires an idle flow; the same visitor then starts a new flow with a new local source port', async () => {
    const v = await udpVisitor(port('short'))
    const relayFrom = relay.handle.logs.length
    const clientFrom = client.handle.logs.length
    v.send('before')
    await v.waitFor(1)
    const firstPorts = [...(echo.short?.sources.keys() ?? [])]
    expect(firstPorts).toHaveLength(1)
    const opened = await relay.handle.waitForLog(logMsg('udp flow opened', { proxy: 'short' }), 5_000, relayFrom)
    // No sleeps: the relay says when the flow expired, and the client when it heard so. The waits
    // are generous "finished at all" bounds (about 1.25 s here); the exact expiry time is checked
    // on a manual clock in udp-flows.test.ts.
    const closed = await relay.handle.waitForLog(logMsg('udp flow closed', { proxy: 'short', reason: 'idle' }), 15_000, relayFrom)
    expect(closed.flowId).toBe(opened.flowId)
    expect(closed.ageMs).toBeGreaterThanOrEqual(SHORT_IDLE_SECONDS * 1000)
    await client.handle.waitForLog(logMsg('udp flow closed', { proxy: 'short', reason: 'peer', flowId: opened.flowId }), 15_000, clientFrom)
    v.send('after')
    await v.waitFor(2)
    expect(v.received.map(String)).toEqual(['before', 'after'])
    const flows = linesOf(relay.handle.logs.slice(relayFrom), 'udp flow opened', 'short')
    expect(flows).toHaveLength(2)
    expect(flows[1]?.visitor).toBe(flows[0]?.visitor)
    expect(flows[1]?.flowId).not.toBe(flows[0]?.flowId)
    expect(echo.short?.sources.size).toBe(2)
  })

  it('answers IPv4 visitors arriving on the dual-stack socket, and IPv6 visitors', async () => {
    const relayFrom = relay.handle.logs.length
    const v4 = await udpVisitor(port('dual'), 4)
    v4.send('from ipv4')
    await v4.waitFor(1)
    expect(v4.received[0]?.toString()).toBe('from ipv4')
    const opened = await relay.handle.waitForLog(logMsg('udp flow opened', { proxy: 'dual' }), 5_000, relayFrom)
    // Keyed and logged normalised (not ::ffff:127.0.0.1), though the reply went to the mapped form.
    expect(opened.visitor).toBe(`127.0.0.1:${v4.socket.address().port}`)
    const v6 = await udpVisitor(port('dual'), 6)
    v6.send('from ipv6')
    await v6.waitFor(1)
    expect(v6.received[0]?.toString()).toBe('from ipv6')
    // 65,527 bytes fit IPv6 but not the IPv4 service: dropped and counted, not truncated.
    v6.send(Buffer.alloc(65_527))
    await client.handle.waitForLog((l) => l.msg === 'udp datagrams dropped' && l.proxy === 'dual' && (l.drops as Record<string, number>).tooBig === 1)
  })

  it('refuses a udp port in use or outside allowPorts, per proxy, and opens the others', async () => {
    const held = await holdUdpPort()
    const outside = 1023
    const r = await startRelay({ extraYaml: 'allowPorts:\n  - start: 1024\n    end: 65535' })
    const c = await startClient(clientYaml({
      serverPort: r.port,
      proxies: [
        { name: 'u-in-use', type: 'udp', localPort: 9, remotePort: held },
        { name: 'u-outside', type: 'udp', localPort: 9, remotePort: outside },
        { name: 'u-any', type: 'udp', localPort: 9, remotePort: 0 },
      ],
    }))
    expect(c.refused.get('u-in-use')).toBe('TUN_PORT_IN_USE')
    expect(c.refused.get('u-outside')).toBe('TUN_PORT_NOT_ALLOWED')
    expect(c.ports.get('u-any')).toBeGreaterThan(0)
  })

  it('survives ICMP port unreachable from a local service that is not running', async () => {
    const from = client.handle.logs.length
    const v = await udpVisitor(port('dead'))
    for (let i = 0; i < 5; i++) v.send(`nobody home ${i}`)
    const warn = await client.handle.waitForLog((l) => l.msg?.startsWith('cannot reach the local udp service') === true && l.proxy === 'dead', 5_000, from)
    expect(warn.code).toBe('TUN_LOCAL_DIAL')
    expect(v.received).toHaveLength(0)
    // Both processes are alive and the session still carries other proxies' datagrams.
    const other = await udpVisitor(port('seq'))
    other.send('still there')
    await other.waitFor(1)
    expect(client.handle.exited).toBe(false)
    expect(relay.handle.exited).toBe(false)
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting')).toBe(false)
  })
})
