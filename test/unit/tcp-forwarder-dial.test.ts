// The client's dial to a local service (client/tcp-forwarder.ts): refused when the service does not
// answer within LOCAL_DIAL_TIMEOUT_MS, and the dial's timer is gone once connected, so nothing of
// the dial stays with an idle stream (issue 21, fifth round: the dial's closures and the socket's
// cleared timeout were about 0.4 KB of each idle stream on the client). Time is fake here: the
// timer fires when the test moves the clock, not after ten real seconds.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LOCAL_DIAL_TIMEOUT_MS, TcpForwarder } from '../../client/tcp-forwarder.js'
import { silentLogger } from '../../shared/log.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeServices, startEchoServer } from '../helpers/services.js'

const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })
const endpoint = { address: '127.0.0.1', port: 1 }

let pair: MuxPair | undefined
afterEach(async () => {
  vi.useRealTimers()
  pair?.close()
  pair = undefined
  await closeServices()
})

/** A stream from the relay side, handled on the client side by `fwd`; the relay side's events are recorded. */
async function openThrough (fwd: TcpForwarder, afterHandle?: () => void): Promise<{ relay: MuxStream, got: Buffer[], closed: Promise<string | undefined> }> {
  pair = await muxPair()
  pair.client.on('stream', (s: MuxStream) => { fwd.handle(s); afterHandle?.() })
  const relay = pair.server.openStream({ proxy: 'p', visitor: endpoint, listener: endpoint })
  const got: Buffer[] = []
  const closed = new Promise<string | undefined>((resolve) => {
    relay.attach({ data: (c) => { got.push(c); relay.consume(c.length) }, end: () => { relay.end() }, drain: () => {}, close: (err) => { resolve(err?.code) } })
  })
  return { relay, got, closed }
}

/** Waits for I/O (the clocks stand still) until `cond` holds; gives up after 10 s of real time. */
async function until (cond: () => boolean): Promise<void> {
  const giveUp = performance.now() + 10_000
  while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
  expect(cond()).toBe(true)
}

describe('the client dialling a local service', () => {
  it('refuses the stream when the service has not answered within the dial timeout', async () => {
    const echo = await startEchoServer()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fwd = new TcpForwarder(tcpTarget(echo.port), silentLogger())
    // The stream reaches the client and the dial starts; the clock passes the timeout before the
    // connect is reported (that comes on a later turn of the event loop).
    const { closed } = await openThrough(fwd, () => { vi.advanceTimersByTime(LOCAL_DIAL_TIMEOUT_MS) })
    expect(await closed).toBe('TUN_LOCAL_DIAL')
    expect(fwd.dialFailures).toBe(1)
    expect(fwd.active).toBe(0)
  })

  it('keeps a connected stream when the dial timeout passes: the dial timer is gone once connected', async () => {
    const echo = await startEchoServer()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fwd = new TcpForwarder(tcpTarget(echo.port), silentLogger())
    const { relay, got } = await openThrough(fwd)
    await until(() => fwd.active === 1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(2 * LOCAL_DIAL_TIMEOUT_MS)
    relay.write(Buffer.from('still here'))
    await until(() => Buffer.concat(got).toString() === 'still here')
    expect(fwd.dialFailures).toBe(0)
    expect(fwd.active).toBe(1)
  })

  it('reports no dial failure later for a dial cut short by closing the proxy', async () => {
    const echo = await startEchoServer()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fwd = new TcpForwarder(tcpTarget(echo.port), silentLogger())
    // The proxy closes while the dial is still under way: its socket is destroyed, never connected.
    const { closed } = await openThrough(fwd, () => { fwd.close() })
    expect(await closed).toBe('TUN_STREAM_RESET')
    await until(() => vi.getTimerCount() === 0)
    vi.advanceTimersByTime(2 * LOCAL_DIAL_TIMEOUT_MS)
    expect(fwd.dialFailures).toBe(0)
  })
})
