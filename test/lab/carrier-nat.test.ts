// The tunnel behind a real carrier NAT (network namespaces): exposure, visitor addresses through
// PROXY v2, NAT mapping expiry, conntrack flush, link flap, path MTU black hole, delay + loss,
// and a relay restart under 20 clients. Run by `npm run test:lab` (root); the suite says why and skips where namespaces
// cannot be made.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cleanupCli, logMsg, type CliHandle } from '../helpers/cli.js'
import {
  echoCheck, echoWorksWithin, fdCount, killProbes, labDown, labUnavailable, labUp, NAT_WAN, netlab, NS, nsRun,
  readLine, RELAY_V4, RELAY_V6, startEcho, startLabClient, startLabRelay, startTunnel, sysctl, udpEchoCheck,
} from './lab.js'

const unavailable = labUnavailable()
if (unavailable !== undefined) console.warn(`lab suite not run: ${unavailable}`)

const ECHO_PORT = 8000
const UDP_PORT = 5353
const PROXY_PORT = 8100
const VISITOR_V4 = '10.200.3.20'
const VISITOR_V6 = 'fd77:200:3::20'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const count = (h: CliHandle, msg: string): number => h.logs.filter((l) => l.msg === msg).length

describe.skipIf(unavailable !== undefined)('through a carrier NAT', () => {
  beforeAll(() => { labUp() })
  afterAll(() => { labDown() })
  beforeEach(async () => {
    labUp() // reset MTU, firewall, NAT timeouts and impairment to baseline
    await startEcho(NS.home, ECHO_PORT)
  })
  afterEach(async () => {
    killProbes()
    await cleanupCli()
  })

  it('exposes a home service behind the NAT to a visitor over IPv4 and IPv6; the relay sees the NAT address', async () => {
    await startEcho(NS.home, UDP_PORT, 'udpecho')
    const { relay, client, remotePort } = await startTunnel({ localPort: ECHO_PORT, udpLocalPort: UDP_PORT })
    await client.waitForLog((l) => l.msg === 'proxy registered' && l.proxy === 'udp-home', 10_000)
    expect(await udpEchoCheck(NS.visitor, RELAY_V4, UDP_PORT, 200)).toMatchObject({ ok: true, received: 200 })
    expect(await udpEchoCheck(NS.visitor, RELAY_V6, UDP_PORT, 50)).toMatchObject({ ok: true, received: 50 })
    expect((await echoCheck(NS.visitor, RELAY_V4, remotePort, 4 * 1024 * 1024)).ok).toBe(true)
    expect((await echoCheck(NS.visitor, RELAY_V6, remotePort, 1024 * 1024)).ok).toBe(true)
    const login = await relay.waitForLog(logMsg('client logged in'))
    expect(String(login.remote)).toMatch(new RegExp(`^${NAT_WAN.replaceAll('.', '\\.')}:\\d+$`))
    // The home service itself stays unreachable from outside.
    expect((await echoCheck(NS.visitor, '192.168.77.10', ECHO_PORT, 16, 1500)).ok).toBe(false)
  })

  it('delivers the visitor\'s own IPv6 (and IPv4) address to the IPv4-only home service through PROXY v2', async () => {
    await startEcho(NS.home, PROXY_PORT, 'proxyecho')
    const { remotePort } = await startTunnel({ localPort: PROXY_PORT, proxyProtocol: 'v2' })
    const v6 = await readLine(NS.visitor, RELAY_V6, remotePort)
    expect(v6.ok, v6.why).toBe(true)
    expect(JSON.parse(v6.line)).toEqual({ version: 'v2', family: 'tcp6', source: { address: VISITOR_V6, port: expect.any(Number) }, destination: { address: RELAY_V6, port: remotePort } })
    const v4 = await readLine(NS.visitor, RELAY_V4, remotePort)
    expect(JSON.parse(v4.line)).toMatchObject({ version: 'v2', family: 'tcp4', source: { address: VISITOR_V4 }, destination: { address: RELAY_V4, port: remotePort } })
  }, 60_000)

  it('keeps an idle tunnel alive across a NAT timeout shorter than idle when the heartbeat is shorter still', async () => {
    sysctl(NS.cgnat, 'net.netfilter.nf_conntrack_tcp_timeout_established=3')
    const { client, remotePort } = await startTunnel({ localPort: ECHO_PORT, heartbeatInterval: 1, heartbeatTimeout: 5 })
    await sleep(30_000) // ten NAT timeouts of idle
    expect((await echoCheck(NS.visitor, RELAY_V4, remotePort, 64 * 1024, 5_000)).ok).toBe(true)
    expect(count(client, 'reconnecting')).toBe(0)
  }, 90_000)

  it('notices a NAT mapping that expired between heartbeats and recovers by reconnecting', async () => {
    sysctl(NS.cgnat, 'net.netfilter.nf_conntrack_tcp_timeout_established=2')
    const { client, remotePort } = await startTunnel({ localPort: ECHO_PORT, heartbeatInterval: 5, heartbeatTimeout: 7 })
    await client.waitForLog(logMsg('reconnecting'), 20_000)
    await client.waitForLog(logMsg('proxy registered'), 15_000, client.logs.findIndex((l) => l.msg === 'reconnecting'))
    await echoWorksWithin(NS.visitor, RELAY_V4, remotePort, 5_000)
    const timeout = client.logs.find((l) => l.msg === 'lost the relay: reconnecting')
    expect(timeout?.code).toBe('TUN_HEARTBEAT_TIMEOUT')
  }, 60_000)

  it('recovers after the NAT flushes its conntrack table, driven by the heartbeat rather than TCP\'s own timers', async () => {
    const { client, remotePort } = await startTunnel({ localPort: ECHO_PORT, heartbeatInterval: 1, heartbeatTimeout: 3 })
    const before = count(client, 'proxy registered')
    const flushed = performance.now()
    nsRun(NS.cgnat, 'conntrack', '-F')
    // 3 s heartbeat timeout + at most 1 s of fast-retry backoff take about 4 s; TCP keepalive
    // (30 s idle first) or retransmission timeouts would take far longer than this generous bound.
    await pollCount(client, 'proxy registered', before + 1, 25_000)
    await echoWorksWithin(NS.visitor, RELAY_V4, remotePort, 10_000)
    console.log(`lab: conntrack flushed → proxy registered again and echoing after ${Math.round(performance.now() - flushed)} ms`)
  }, 60_000)

  it('recovers from a 5 s link failure mid-transfer without leaking sockets', async () => {
    const { relay, client, remotePort } = await startTunnel({ localPort: ECHO_PORT, heartbeatInterval: 1, heartbeatTimeout: 3 })
    expect((await echoCheck(NS.visitor, RELAY_V4, remotePort, 1024)).ok).toBe(true)
    await sleep(300)
    const baseline = { relay: fdCount(relay.pid), client: fdCount(client.pid) }
    const transfer = echoCheck(NS.visitor, RELAY_V4, remotePort, 400 * 1024 * 1024, 30_000)
    await sleep(300)
    nsRun(NS.wire, 'ip', 'link', 'set', 'wa', 'down')
    await sleep(5_000)
    nsRun(NS.wire, 'ip', 'link', 'set', 'wa', 'up')
    await transfer // cut mid-way: that visitor's connection ends; what matters is what follows
    await client.waitForLog(logMsg('reconnecting'), 1_000)
    await echoWorksWithin(NS.visitor, RELAY_V4, remotePort, 25_000)
    expect((await echoCheck(NS.visitor, RELAY_V4, remotePort, 8 * 1024 * 1024)).ok).toBe(true)
    await pollUntilEqual(() => fdCount(relay.pid), baseline.relay, 10_000)
    await pollUntilEqual(() => fdCount(client.pid), baseline.client, 10_000)
  }, 90_000)

  it('completes a 50 MB transfer over a 1400-byte path MTU whose ICMP "fragmentation needed" is dropped', async () => {
    netlab('mtu', '1400')
    nsRun(NS.inet, 'nft', [
      'table inet pmtu_blackhole {',
      '  chain forward { type filter hook forward priority -5; policy accept;',
      '    icmp type destination-unreachable icmp code frag-needed drop; icmpv6 type packet-too-big drop; }',
      '  chain output { type filter hook output priority -5; policy accept;',
      '    icmp type destination-unreachable icmp code frag-needed drop; icmpv6 type packet-too-big drop; }',
      '}',
    ].join('\n'))
    // What docs/operations.md advises for both hosts: probe for black holes instead of
    // trusting ICMP (Node has no TCP_MAXSEG to clamp our own sockets).
    sysctl(NS.public, 'net.ipv4.tcp_mtu_probing=1')
    sysctl(NS.home, 'net.ipv4.tcp_mtu_probing=1')
    const { remotePort } = await startTunnel({ localPort: ECHO_PORT })
    const r = await echoCheck(NS.visitor, RELAY_V4, remotePort, 50 * 1024 * 1024, 60_000)
    expect(r).toMatchObject({ ok: true, why: 'match' })
    const ss = nsRun(NS.public, 'ss', '-tinH', 'state', 'established', '( sport = :7000 )')
    expect(ss).toMatch(/mss:13\d\d/) // the relay's sender learned the smaller path
  }, 90_000)

  // Measures, does not assert, the tunnel/direct throughput factor: a ratio of two timings that a
  // busy machine moves (0.33 was the floor once asserted). What it guarded, window tuning that
  // follows the RTT the connection really has, is checked exactly in rtt-filter.test.ts and
  // mux-session-time.test.ts.
  it('carries one stream byte-exact over 40 ms RTT and 1 % loss, and reports its factor against a direct TCP connection', async () => {
    // The impairment comes first, so the control connection is born on the slow path as it is in
    // the field: a connection that saw 0.06 ms first keeps that min RTT in the kernel's BBR (and,
    // before rtt-filter.ts, in our window tuning) for ~10 s and measures that instead.
    netlab('impair', '--delay', '20', '--loss', '1', '--seed', '7')
    await startEcho(NS.public, 9000)
    const { remotePort } = await startTunnel({ localPort: ECHO_PORT })
    const bytes = 4 * 1024 * 1024
    const factors: number[] = []
    for (let i = 0; i < 3; i++) { // random loss makes one run noisy: median of three pairs
      const direct = await echoCheck(NS.home, RELAY_V4, 9000, bytes, 60_000)
      const tunnel = await echoCheck(NS.visitor, RELAY_V4, remotePort, bytes, 60_000)
      expect(direct.ok && tunnel.ok).toBe(true)
      factors.push(direct.ms / tunnel.ms)
      console.log(`lab: 40 ms RTT, 1 % loss, ${bytes / 1048576} MiB echoed: direct ${direct.ms} ms, tunnel ${tunnel.ms} ms, tunnel/direct throughput ${(direct.ms / tunnel.ms).toFixed(2)}`)
    }
    const median = [...factors].sort((a, b) => a - b)[1] as number
    console.log(`lab: median tunnel/direct throughput ${median.toFixed(2)}`)
  }, 150_000)

  it('re-registers 20 clients after a relay restart, spread out by jitter, without duplicate proxies', async () => {
    const relay = await startLabRelay()
    const clients = await Promise.all(Array.from({ length: 20 }, async (_, i) => await startLabClient({ localPort: ECHO_PORT, remotePort: 6001 + i }, `home${i}`)))
    await Promise.all(clients.map(async (c) => await c.waitForLog(logMsg('proxy registered'), 30_000)))
    relay.kill('SIGKILL')
    await relay.exit
    const restarted = performance.now()
    const relay2 = await startLabRelay()
    const times = await Promise.all(clients.map(async (c) => {
      await pollCount(c, 'proxy registered', 2, 30_000) // about 1-3 s; a generous "finished at all" bound
      return performance.now() - restarted
    }))
    const mean = times.reduce((a, b) => a + b, 0) / times.length
    const sd = Math.sqrt(times.reduce((a, b) => a + (b - mean) ** 2, 0) / times.length)
    console.log(`lab: 20 clients re-registered ${Math.round(Math.min(...times))}-${Math.round(Math.max(...times))} ms after the restart (sd ${Math.round(sd)} ms)`)
    expect(sd).toBeGreaterThan(100) // full jitter: not all at once (a busy machine spreads them more, not less)
    const listening = relay2.logs.filter((l) => l.msg === 'proxy listening').map((l) => l.remotePort)
    expect(listening.length).toBe(20)
    expect(new Set(listening).size).toBe(20)
    for (const port of [6001, 6010, 6020]) expect((await echoCheck(NS.visitor, RELAY_V4, port, 1024)).ok).toBe(true)
  }, 120_000)
})

async function pollCount (h: CliHandle, msg: string, atLeast: number, withinMs: number): Promise<void> {
  const start = performance.now()
  while (count(h, msg) < atLeast) {
    if (performance.now() - start > withinMs) throw new Error(`"${msg}" seen ${count(h, msg)} times, wanted ${atLeast}, within ${withinMs} ms`)
    await sleep(50)
  }
}

async function pollUntilEqual (read: () => number, want: number, withinMs: number): Promise<void> {
  const start = performance.now()
  let got = read()
  while (got !== want && performance.now() - start < withinMs) {
    await sleep(200)
    got = read()
  }
  expect(got).toBe(want)
}
