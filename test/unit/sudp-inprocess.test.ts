// sudp in one process, without a relay: the home side (SudpForwarder) fed with streams of a
// loopback mux pair, and the visitor side (SudpVisitor) opening its visits on the other end of
// the same pair. Datagrams both ways, one flow (and one source port at the service) per local
// source, a PROXY v2 header per datagram, the drops (too big for IPv4, over the bandwidth
// limit, the service refusing), flows ending and expiring, and the counters status reads.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SudpForwarder } from '../../client/sudp-forwarder.js'
import { DatagramPipe } from '../../client/datagram-pipe.js'
import { SudpVisitor } from '../../client/visitors/sudp.js'
import { VisitOpener } from '../../client/visitors/visit-opener.js'
import type { SudpProxyConfig, VisitorConfig } from '../../shared/config/index.js'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { Secret } from '../../shared/secret.js'
import { Capability } from '../../shared/wire/index.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeUdp, freeUdpPort, holdUdpPort, startUdpEcho, udpVisitor } from '../helpers/udp.js'
import { createSocket, type Socket } from 'node:dgram'

const pairs: MuxPair[] = []
const forwarders: SudpForwarder[] = []
const visitors: SudpVisitor[] = []
const rawSockets: Socket[] = []

beforeEach(() => { vi.useRealTimers() })

afterEach(async () => {
  vi.useRealTimers()
  for (const v of visitors.splice(0)) v.close()
  for (const f of forwarders.splice(0)) f.close()
  for (const p of pairs.splice(0)) p.close()
  for (const s of rawSockets.splice(0)) { try { s.close() } catch { /* closed */ } }
  await closeUdp()
})

const SECRET = new Secret(Buffer.from('a-long-random-secret-for-tests'))

function proxy (localPort: number, extra: Partial<SudpProxyConfig> = {}): SudpProxyConfig {
  return { name: 'dns', type: 'sudp', localIP: '127.0.0.1', localPort, proxyProtocolVersion: null, allowSources: [], denySources: [], bandwidthLimit: 0, bandwidthLimitMode: 'client', secretKey: SECRET, allowUsers: [], ...extra }
}

/** A home forwarder for `config` taking the streams the pair's client side opens. */
async function home (config: SudpProxyConfig): Promise<{ pair: MuxPair, forwarder: SudpForwarder }> {
  const pair = await muxPair()
  pairs.push(pair)
  const forwarder = new SudpForwarder(config, silentLogger())
  forwarders.push(forwarder)
  pair.server.on('stream', (s) => { forwarder.handle(s) })
  return { pair, forwarder }
}

interface RawFlow {
  pipe: DatagramPipe
  received: Buffer[]
  closed: Promise<TunnelError | undefined>
}

/** A visitor flow written by hand: a stream of whole datagrams toward the forwarder. */
function rawFlow (pair: MuxPair): RawFlow {
  const stream = pair.client.openStream({ proxy: 'dns', visitor: { address: '127.0.0.1', port: 40000 }, listener: { address: '127.0.0.1', port: 5353 } })
  const received: Buffer[] = []
  let onClosed: (err: TunnelError | undefined) => void = () => {}
  const closed = new Promise<TunnelError | undefined>((resolve) => { onClosed = resolve })
  const pipe = new DatagramPipe(stream, { deliver: (d) => { received.push(Buffer.from(d)) }, dropped: () => {}, closed: (err) => { onClosed(err) } })
  return { pipe, received, closed }
}

/** A UDP service that keeps every datagram it gets (raw) and answers `ok`. */
async function recordingService (): Promise<{ port: number, got: Buffer[] }> {
  const socket = createSocket('udp4')
  rawSockets.push(socket)
  const got: Buffer[] = []
  socket.on('message', (msg, rinfo) => { got.push(msg); socket.send('ok', rinfo.port, rinfo.address) })
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return { port: socket.address().port, got }
}

describe('the sudp home forwarder', () => {
  it('carries whole datagrams to the service and its replies back, one service-side source port per flow, and counts them', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    const a = rawFlow(pair)
    const b = rawFlow(pair)
    a.pipe.send(Buffer.from('one'))
    b.pipe.send(Buffer.from('two'))
    a.pipe.send(Buffer.from('three'))
    await expect.poll(() => a.received.length + b.received.length).toBe(3)
    expect(a.received.map(String)).toEqual(['one', 'three'])
    expect(b.received.map(String)).toEqual(['two'])
    expect(echo.sources.size).toBe(2)
    expect(forwarder.counters).toMatchObject({ datagramsIn: 3, bytesIn: 11, datagramsOut: 3, bytesOut: 11, flowsOpened: 2, activeFlows: 2 })
    expect(forwarder.summary()).toMatchObject({ datagramsIn: 3, flowsOpened: 2 })
  })

  it('puts a PROXY v2 header with the visitor\'s address in front of every datagram when the proxy asks for one', async () => {
    const svc = await recordingService()
    const { pair } = await home(proxy(svc.port, { proxyProtocolVersion: 'v2' }))
    const flow = rawFlow(pair)
    flow.pipe.send(Buffer.from('query'))
    await expect.poll(() => flow.received.length).toBe(1)
    const got = svc.got[0] ?? Buffer.alloc(0)
    expect(got.subarray(0, 12)).toEqual(Buffer.from('0d0a0d0a000d0a515549540a', 'hex'))
    // v2, PROXY; UDP over IPv4 (0x12); then 127.0.0.1 → 127.0.0.1, 40000 → 5353.
    expect([got[12], got[13]]).toEqual([0x21, 0x12])
    expect([...got.subarray(16, 24)]).toEqual([127, 0, 0, 1, 127, 0, 0, 1])
    expect(got.readUInt16BE(24)).toBe(40000)
    expect(got.readUInt16BE(26)).toBe(5353)
    expect(got.subarray(28).toString()).toBe('query')
    expect(flow.received.map(String)).toEqual(['ok'])
  })

  it('drops a datagram too big for IPv4 (and one the PROXY header makes too big) instead of sending it, and counts it', async () => {
    const svc = await recordingService()
    const { pair, forwarder } = await home(proxy(svc.port, { proxyProtocolVersion: 'v2' }))
    const flow = rawFlow(pair)
    flow.pipe.send(Buffer.alloc(65_508))
    flow.pipe.send(Buffer.alloc(65_500)) // fits IPv4 alone, not behind a 28-byte header
    flow.pipe.send(Buffer.from('small'))
    await expect.poll(() => flow.received.length).toBe(1)
    expect(svc.got.length).toBe(1)
    expect(forwarder.counters.drops.tooBig).toBe(2)
    expect(forwarder.counters.datagramsIn).toBe(1)
  })

  it('counts datagrams the service refuses (nothing listens on its port) as refused drops and keeps the flow', async () => {
    const port = await freeUdpPort()
    const { pair, forwarder } = await home(proxy(port))
    const flow = rawFlow(pair)
    // ICMP port unreachable comes back on the flow's connected socket; bounded tries.
    for (let i = 0; i < 50 && forwarder.counters.drops.refused === 0; i++) {
      flow.pipe.send(Buffer.from(`ping ${i}`))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(forwarder.counters.drops.refused).toBeGreaterThan(0)
    expect(forwarder.activeFlows).toBe(1)
    expect(flow.pipe.closed).toBe(false)
  })

  it('drops datagrams over a client-side bandwidth limit both ways', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port, { bandwidthLimit: 1024 }))
    const flow = rawFlow(pair)
    for (let i = 0; i < 4; i++) flow.pipe.send(Buffer.alloc(60_000, i))
    await expect.poll(() => forwarder.counters.drops.bandwidth).toBeGreaterThan(0)
    expect(echo.received).toBeLessThan(4)
  })

  it('closes the flow\'s socket when the visitor ends the flow, and counts it closed', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    const flow = rawFlow(pair)
    flow.pipe.send(Buffer.from('x'))
    await expect.poll(() => flow.received.length).toBe(1)
    flow.pipe.end()
    expect(await flow.closed).toBeUndefined()
    await expect.poll(() => forwarder.activeFlows).toBe(0)
    expect(forwarder.counters).toMatchObject({ flowsOpened: 1, flowsClosed: 1, activeFlows: 0 })
  })

  it('resets its flows when closed and refuses flows that come after', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    const flow = rawFlow(pair)
    flow.pipe.send(Buffer.from('x'))
    await expect.poll(() => flow.received.length).toBe(1)
    forwarder.close()
    forwarder.close()
    expect((await flow.closed)?.code).toBeDefined()
    const late = rawFlow(pair)
    late.pipe.send(Buffer.from('late'))
    expect((await late.closed)?.code).toBe('TUN_LOCAL_DIAL')
    expect(echo.received).toBe(1)
  })

  it('ends a flow silent for the home idle time, and resets it when the visitor does not end it too', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    // A visitor flow that never answers a FIN (its stream only reads).
    const stream = pair.client.openStream({ proxy: 'dns', visitor: { address: '127.0.0.1', port: 40000 }, listener: { address: '127.0.0.1', port: 5353 } })
    let ended = false
    const seen: { closed: boolean, err: TunnelError | undefined } = { closed: false, err: undefined }
    stream.attach({ data: () => {}, end: () => { ended = true }, drain: () => {}, close: (err) => { seen.closed = true; seen.err = err } })
    await vi.waitFor(() => { expect(forwarder.activeFlows).toBe(1) })
    vi.advanceTimersByTime(130_000)
    await vi.waitFor(() => { expect(ended).toBe(true) })
    expect(forwarder.activeFlows).toBe(1)
    vi.advanceTimersByTime(5_000)
    await vi.waitFor(() => { expect(seen.closed).toBe(true) })
    expect(seen.err?.code).toBeDefined()
    await vi.waitFor(() => { expect(forwarder.activeFlows).toBe(0) })
  })
})

function visitorConfig (extra: Partial<VisitorConfig> = {}): VisitorConfig {
  return { name: 'dns', type: 'sudp', serverName: 'dns', serverUser: '', secretKey: SECRET, bindAddr: '127.0.0.1', bindPort: 0, ...extra }
}

/** A visitor whose visits go over the pair to `forwarder` (attached: a logged-in opener), started. */
async function visitor (pair: MuxPair | undefined, extra: Partial<VisitorConfig> = {}): Promise<{ v: SudpVisitor, port: number }> {
  const opener = new VisitOpener('laptop')
  if (pair !== undefined) opener.attach(pair.client, new Set([Capability.VISIT]))
  const v = new SudpVisitor(visitorConfig(extra), { opener, log: silentLogger(), user: 'laptop' })
  visitors.push(v)
  await v.start()
  const port = Number((v.local ?? '').split(':').pop())
  return { v, port }
}

describe('the sudp visitor', () => {
  it('gives each local source its own visit, carries datagrams both ways, and counts flows and bytes in stats', async () => {
    const echo = await startUdpEcho()
    const { pair } = await home(proxy(echo.port))
    const { v, port } = await visitor(pair)
    expect(v.local).toBe(`127.0.0.1:${port}`)
    expect(v.target).toBe('laptop.dns')
    const app1 = await udpVisitor(port)
    const app2 = await udpVisitor(port)
    app1.send('hello')
    app2.send('hi')
    app1.send('again')
    await app1.waitFor(2)
    await app2.waitFor(1)
    expect(app1.received.map(String)).toEqual(['hello', 'again'])
    expect(app2.received.map(String)).toEqual(['hi'])
    expect(echo.sources.size).toBe(2)
    const s = v.stats()
    expect(s).toMatchObject({ streams: null, flows: { active: 2, total: 2 }, bytesIn: 12, bytesOut: 12 })
    expect(s.refusals.refused).toBe(0)
  })

  it('drops datagrams while not connected to a relay, counts the refusal once, and holds that source off before trying again', async () => {
    const { v, port } = await visitor(undefined)
    const app = await udpVisitor(port)
    app.send('a')
    await expect.poll(() => v.stats().udpDrops?.refused).toBe(1)
    app.send('b')
    await expect.poll(() => v.stats().udpDrops?.refused).toBe(2)
    // One visit tried, not two: the second datagram fell within SUDP_REFUSED_HOLD_MS.
    expect(v.stats().refusals.offline).toBe(1)
    expect(v.stats().flows).toEqual({ active: 0, total: 0 })
  })

  it('counts a visit the home client refuses as serviceDown', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    forwarder.close()
    const { v, port } = await visitor(pair)
    const app = await udpVisitor(port)
    app.send('a')
    await expect.poll(() => v.stats().refusals.serviceDown).toBe(1)
    expect(v.stats().flows?.active).toBe(0)
  })

  it('resets its visits when closed, so the home side closes their flows', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    const { v, port } = await visitor(pair)
    const app = await udpVisitor(port)
    app.send('a')
    await app.waitFor(1)
    expect(forwarder.activeFlows).toBe(1)
    v.close()
    v.close()
    await expect.poll(() => forwarder.activeFlows).toBe(0)
    expect(v.stats().flows?.active).toBe(0)
  })

  it('fails to start on a port another socket holds', async () => {
    const taken = await holdUdpPort()
    const v = new SudpVisitor(visitorConfig({ bindPort: taken }), { opener: new VisitOpener('laptop'), log: silentLogger(), user: 'laptop' })
    visitors.push(v)
    await expect(v.start()).rejects.toMatchObject({ code: 'TUN_PORT_IN_USE' })
    expect(v.local).toBeNull()
  })

  it('ends flows idle for the flow timeout, and opens a new visit when the source speaks again', async () => {
    const echo = await startUdpEcho()
    const { pair, forwarder } = await home(proxy(echo.port))
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const { v, port } = await visitor(pair)
    const app = await udpVisitor(port)
    app.send('a')
    await app.waitFor(1)
    vi.advanceTimersByTime(125_000)
    await vi.waitFor(() => { expect(forwarder.activeFlows).toBe(0) })
    await vi.waitFor(() => { expect(v.stats().flows?.active).toBe(0) })
    app.send('b')
    await app.waitFor(2)
    expect(v.stats().flows).toEqual({ active: 1, total: 2 })
    expect(forwarder.counters.flowsOpened).toBe(2)
  })
})
