// The relay's UdpProxy and the client's UdpFlows joined by a real mux session pair, in process,
// so their counters can be asserted: the same path as the e2e tests, without the CLI. Idle
// expiry and the bandwidth bucket run on an injected clock (with fake timers for the sweeps).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CLIENT_IDLE_GRACE_MS, UdpFlows } from '../../client/udp-flows.js'
import { UdpForwarder } from '../../client/udp-forwarder.js'
import { UdpHub } from '../../server/udp-hub.js'
import { sweepIntervalMs, UdpProxy } from '../../server/udp-proxy.js'
import type { UdpProxyConfig } from '../../shared/config/types.js'
import { silentLogger } from '../../shared/log.js'
import { parseProxyHeader } from '../../shared/net/proxy-protocol.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { createSocket } from 'node:dgram'
import { closeUdp, freeUdpPort, startUdpEcho, udpVisitor } from '../helpers/udp.js'

interface Rig { pair: MuxPair, proxy: UdpProxy, fwd: UdpForwarder, flows: UdpFlows, hub: UdpHub }

let rig: Rig | undefined

afterEach(async () => {
  rig?.proxy.destroy()
  rig?.pair.close()
  rig = undefined
  vi.useRealTimers()
  await closeUdp()
})

interface SetUpOptions {
  maxFlows?: number
  /** The proxy's idleTimeout in seconds (the client's flows), and the relay's unless relayIdleMs is set. */
  idleTimeout?: number
  relayIdleMs?: number
  limit?: { bandwidthLimit: number, bandwidthLimitMode: 'client' | 'server' }
  proxyProtocolVersion?: 'v2' | null
  /** The clock of both sides (default: real time). */
  now?: () => number
}

async function setUp (localPort: number, o: SetUpOptions = {}): Promise<Rig> {
  const { maxFlows = 16, idleTimeout = 120, limit = { bandwidthLimit: 0, bandwidthLimitMode: 'client' }, proxyProtocolVersion = null } = o
  const now = o.now === undefined ? {} : { now: o.now }
  const pair = await muxPair()
  const log = silentLogger()
  const hub = new UdpHub(pair.server, log)
  const config: UdpProxyConfig = { name: 'p', type: 'udp', localIP: '127.0.0.1', localPort, remotePort: 0, idleTimeout, maxFlows, allowSources: [], denySources: [], proxyProtocolVersion, ...limit }
  const fwd = new UdpForwarder(config, log)
  const flows = new UdpFlows(pair.client, new Map([['p', fwd]]), log, '203.0.113.9', now)
  // As the client registers it: the relay gets the limit only in server mode.
  const relayLimit = limit.bandwidthLimitMode === 'server' ? limit.bandwidthLimit : 0
  const proxy = await UdpProxy.open('p', '127.0.0.1', 0, pair.server, hub, log, { idleTimeoutMs: o.relayIdleMs ?? idleTimeout * 1000, maxFlows, bandwidthLimit: relayLimit, ...now })
  rig = { pair, proxy, fwd, flows, hub }
  return rig
}

/**
 * Waits for datagrams in flight (socket I/O, not time) until `cond` holds. Not expect.poll: that
 * advances fake timers while it waits, and the sweeps must run only when the test moves the clock.
 */
async function settled (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(cond()).toBe(true)
}

/** A clock that moves only when the test says, with the sweep timers (fake setInterval) run up to it. */
function manualTime (): { now: () => number, advance: (ms: number) => void } {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
  let t = 0
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
      vi.advanceTimersByTime(ms)
    },
  }
}

/** Sends `n` datagrams and waits for their `n` echoes. */
async function converse (port: number, n: number): Promise<Awaited<ReturnType<typeof udpVisitor>>> {
  const v = await udpVisitor(port)
  for (let i = 0; i < n; i++) {
    v.send(`d${i}`)
    await v.waitFor(i + 1)
  }
  return v
}

describe('udp proxy and client flows in one process', () => {
  it('counts datagrams and bytes each way on both sides, one flow per visitor', async () => {
    const echo = await startUdpEcho()
    const { proxy, fwd, flows } = await setUp(echo.port)
    await converse(proxy.port, 3)
    await converse(proxy.port, 2)
    expect(proxy.counters).toMatchObject({ datagramsIn: 5, bytesIn: 10, datagramsOut: 5, bytesOut: 10, flowsOpened: 2, activeFlows: 2 })
    expect(fwd.counters).toMatchObject({ datagramsIn: 5, datagramsOut: 5, flowsOpened: 2, activeFlows: 2 })
    expect(proxy.activeFlows).toBe(2)
    expect(flows.size).toBe(2)
    expect(echo.sources.size).toBe(2)
  })

  it('with proxyProtocolVersion v2 puts a PROXY v2 (UDP) header in front of every datagram to the service, and none on replies', async () => {
    // A service that understands the header: it answers with the payload and who sent it.
    const service = createSocket('udp4')
    const seen: Array<{ family: string, source: unknown, destination: unknown, payload: string }> = []
    service.on('message', (msg, rinfo) => {
      const h = parseProxyHeader(msg)
      if (h === undefined) return
      seen.push({ family: h.family, source: h.source, destination: h.destination, payload: msg.subarray(h.length).toString() })
      service.send(msg.subarray(h.length), rinfo.port, rinfo.address)
    })
    await new Promise<void>((resolve) => service.bind(0, '127.0.0.1', resolve))
    try {
      const { proxy, fwd } = await setUp(service.address().port, { proxyProtocolVersion: 'v2' })
      fwd.publicPort = proxy.port // as the relay's proxyResult sets it
      const v = await udpVisitor(proxy.port)
      v.send('one')
      await v.waitFor(1)
      v.send('two')
      await v.waitFor(2)
      expect(v.received.map(String)).toEqual(['one', 'two'])
      const visitor = { address: '127.0.0.1', port: v.socket.address().port }
      expect(seen).toEqual(['one', 'two'].map((payload) => ({ family: 'udp4', source: visitor, destination: { address: '203.0.113.9', port: proxy.port }, payload })))
    } finally {
      service.close()
    }
  })

  it('at the flow cap evicts a one-off flow (closing it on the client too) but never an established one', async () => {
    const echo = await startUdpEcho()
    const { proxy, fwd, flows } = await setUp(echo.port, { maxFlows: 2 })
    await converse(proxy.port, 2) // established: two each way
    await converse(proxy.port, 1) // a one-off
    await converse(proxy.port, 1) // evicts the one-off
    expect(proxy.counters.flowsOpened).toBe(3)
    expect(proxy.counters.flowsClosed).toBe(1)
    await expect.poll(() => fwd.counters.flowsClosed).toBe(1) // the relay's FIN closed it there
    expect(flows.size).toBe(2)
    // A fourth visitor evicts the third (a one-off too) and converses: now both flows are
    // established, and a fifth visitor is dropped and counted.
    await converse(proxy.port, 2)
    expect(proxy.counters.flowsClosed).toBe(2)
    const last = await udpVisitor(proxy.port)
    last.send('no room')
    await expect.poll(() => proxy.counters.drops.flowLimit).toBeGreaterThan(0)
    expect(proxy.activeFlows).toBe(2)
  })

  it('bandwidthLimit in server mode: the relay drops datagrams over the limit (counted), then lets them through again', async () => {
    const echo = await startUdpEcho()
    const time = manualTime()
    const { proxy, fwd } = await setUp(echo.port, { limit: { bandwidthLimit: 16 * 1024, bandwidthLimitMode: 'server' }, now: time.now })
    expect(proxy.bandwidthLimit).toBe(16 * 1024)
    expect(fwd.bandwidthLimit).toBe(0)
    const v = await udpVisitor(proxy.port)
    const datagram = Buffer.alloc(1000, 1)
    for (let i = 0; i < 40; i++) v.send(datagram)
    // One bucket for both directions: each of the 40 was dropped on the way in, or its echo was
    // dropped or sent on the way out.
    await settled(() => proxy.counters.drops.bandwidth + proxy.counters.datagramsOut === 40)
    // The clock stands still: exactly the burst (16 KiB) passes, in whichever direction, the
    // datagram that crosses it included (17 × 1000 B); the rest is dropped, never queued.
    expect(proxy.counters.datagramsIn + proxy.counters.datagramsOut).toBe(17)
    expect(proxy.stats.bandwidth?.bytes).toBe(17 * 1000)
    expect(proxy.counters.drops.bandwidth).toBe(40 - proxy.counters.datagramsOut)
    expect(fwd.counters.drops.bandwidth).toBe(0)
    expect(proxy.stats.bandwidth?.waits).toBeGreaterThan(0)
    // While no time passes the bucket stays in debt: one more datagram is dropped too.
    v.send('still no room')
    await settled(() => proxy.counters.drops.bandwidth === 41 - proxy.counters.datagramsOut)
    // A second later the bucket has refilled: a datagram goes through and is echoed.
    time.advance(1_000)
    const before = v.received.length
    v.send('again')
    await v.waitFor(before + 1)
    expect(proxy.stats.bandwidth?.bytes).toBe(17 * 1000 + 2 * 'again'.length)
  })

  it('bandwidthLimit in client mode: the client drops datagrams over the limit, the relay none', async () => {
    const echo = await startUdpEcho()
    const { proxy, fwd } = await setUp(echo.port, { limit: { bandwidthLimit: 16 * 1024, bandwidthLimitMode: 'client' } })
    expect(proxy.bandwidthLimit).toBe(0)
    const v = await udpVisitor(proxy.port)
    const datagram = Buffer.alloc(1000, 2)
    for (let i = 0; i < 40; i++) v.send(datagram)
    await expect.poll(() => fwd.counters.drops.bandwidth + fwd.counters.datagramsOut).toBe(40)
    expect(fwd.counters.drops.bandwidth).toBeGreaterThan(15)
    expect(proxy.counters.drops.bandwidth).toBe(0)
    expect(fwd.stats.drops.bandwidth).toBe(fwd.counters.drops.bandwidth)
  })

  it('counts ICMP port unreachable from a missing service, keeps the flow, and never throws', async () => {
    const { proxy, fwd, flows } = await setUp(await freeUdpPort())
    const v = await udpVisitor(proxy.port)
    for (let i = 0; i < 3; i++) {
      v.send(`ping ${i}`)
      await expect.poll(() => fwd.counters.datagramsIn).toBe(i + 1)
    }
    await expect.poll(() => fwd.counters.drops.refused).toBeGreaterThan(0)
    expect(flows.size).toBe(1)
    expect(fwd.counters.datagramsIn).toBe(3)
  })

  it('closes flows on both sides when the relay closes the proxy, and answers unknown flows with a FIN', async () => {
    const echo = await startUdpEcho()
    const { pair, proxy, flows, hub } = await setUp(echo.port)
    await converse(proxy.port, 1)
    // A datagram for a flow the client never saw: it answers with a FIN (which the hub ignores).
    pair.server.sendDatagram(1_000_000, Buffer.from('stray'))
    await expect.poll(() => flows.unknownFlow).toBe(1)
    proxy.close()
    await expect.poll(() => flows.size).toBe(0)
    expect(hub.size).toBe(0)
  })

  it('expires a flow on the relay after exactly its idle timeout since the last datagram, and tells the client', async () => {
    const echo = await startUdpEcho()
    const time = manualTime()
    const { proxy, fwd } = await setUp(echo.port, { idleTimeout: 10, now: time.now })
    expect(10_000 % sweepIntervalMs(10_000)).toBe(0) // a sweep runs at exactly 10 s
    await converse(proxy.port, 1) // the echo's reply is the last datagram, at t = 0
    time.advance(9_999)
    expect(proxy.activeFlows).toBe(1)
    time.advance(1)
    expect(proxy.activeFlows).toBe(0)
    expect(proxy.counters.flowsClosed).toBe(1)
    // The relay's FIN closed it on the client too, before the client's own (later) expiry.
    await settled(() => fwd.counters.activeFlows === 0)
    expect(fwd.counters.flowsClosed).toBe(1)

    // Idle is measured from the last datagram: one at t = 15 s keeps the flow until t = 25 s.
    const v = await converse(proxy.port, 1)
    time.advance(5_000)
    v.send('again')
    await v.waitFor(2)
    time.advance(9_999)
    expect(proxy.activeFlows).toBe(1)
    time.advance(1)
    expect(proxy.activeFlows).toBe(0)
  })

  it('expires a flow on the client after its idle timeout plus the grace, and not before, and tells the relay', async () => {
    const echo = await startUdpEcho()
    const time = manualTime()
    // The relay would keep the flow for a minute: only the client's expiry can close it.
    const { proxy, fwd } = await setUp(echo.port, { idleTimeout: 10, relayIdleMs: 60_000, now: time.now })
    await converse(proxy.port, 1)
    const idleMs = 10_000 + CLIENT_IDLE_GRACE_MS
    const sweep = Math.max(100, Math.min(5_000, Math.floor(idleMs / 4)))
    time.advance(idleMs - 1)
    expect(fwd.counters.activeFlows).toBe(1)
    time.advance(sweep) // the first sweep at or after idleMs
    expect(fwd.counters.activeFlows).toBe(0)
    expect(fwd.counters.flowsClosed).toBe(1)
    await settled(() => proxy.activeFlows === 0) // the client's FIN closed it on the relay
    expect(proxy.counters.flowsClosed).toBe(1)
  })
})
