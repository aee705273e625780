// A mux stream as a node Duplex: bytes and ends both ways, back-pressure, net.Socket's timeout
// semantics, and no listener growth over many keep-alive requests through the vhost's upstream.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TcpForwarder } from '../../client/tcp-forwarder.js'
import { Upstream } from '../../server/vhost/upstream.js'
import { MuxDuplex } from '../../shared/mux/duplex.js'
import { silentLogger } from '../../shared/log.js'
import { INITIAL_WINDOW_BYTES, type MuxStream } from '../../shared/mux/stream.js'
import { closeHttp, startHttpService } from '../helpers/http.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'

/** The forwarder's view of a tcp proxy to 127.0.0.1:localPort (no limits, no PROXY header). */
const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })

const log = silentLogger()
let pair: MuxPair | undefined
const pairs: MuxPair[] = []

afterEach(async () => {
  for (const p of pairs.splice(0)) p.close()
  pair = undefined
  await closeHttp()
})

async function newPair (): Promise<MuxPair> {
  pair = await muxPair()
  pairs.push(pair)
  return pair
}

const endpoint = { address: '127.0.0.1', port: 1 }

/** A stream of the upstream's pool (the vhost's way), and whether it was an idle one. */
async function take (upstream: Upstream): Promise<{ stream: MuxDuplex, fromPool: boolean }> {
  return await new Promise((resolve, reject) => {
    upstream.take((err, stream, fromPool) => { if (stream === undefined) reject(err ?? new Error('no stream')); else resolve({ stream, fromPool }) })
  })
}

/** One keep-alive request on a stream in direct mode: the response's head and body as text. */
async function exchange (stream: MuxDuplex, path: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    let got = ''
    stream.direct({
      data: (c) => {
        got += c.toString('latin1')
        const head = got.indexOf('\r\n\r\n')
        const length = /\r\ncontent-length: *(\d+)/i.exec(got)
        if (head >= 0 && length !== null && got.length >= head + 4 + Number(length[1])) resolve(got)
      },
      end: () => { reject(new Error(`ended after ${got.length} bytes`)) },
      drain: () => {},
      close: () => { reject(new Error('closed')) },
    })
    stream.writeDirect(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`))
  })
}

async function streamPair (): Promise<{ relay: MuxDuplex, client: MuxStream }> {
  const p = await newPair()
  const accepted = new Promise<MuxStream>((resolve) => { p.client.once('stream', resolve) })
  const relay = new MuxDuplex(p.server.openStream({ proxy: 'p', visitor: endpoint, listener: endpoint }))
  // Like a socket's: the session's end fails the stream with an error at clean-up.
  relay.on('error', () => {})
  const client = await accepted
  client.accept()
  return { relay, client }
}

describe('MuxDuplex', () => {
  it('carries bytes and ends both ways, closing when both sides are done', async () => {
    const { relay, client } = await streamPair()
    const got: Buffer[] = []
    let clientEnded = false
    client.attach({ data: (c) => { got.push(c); client.consume(c.length) }, end: () => { clientEnded = true; client.end() }, drain: () => {}, close: () => {} })
    const fromClient: Buffer[] = []
    relay.on('data', (c: Buffer) => fromClient.push(c))
    const closed = new Promise((resolve) => relay.once('close', resolve))
    client.write(Buffer.from('pong'))
    relay.end(Buffer.alloc(300_000, 1))
    await closed
    expect(clientEnded).toBe(true)
    expect(Buffer.concat(got).length).toBe(300_000)
    expect(Buffer.concat(fromClient).toString()).toBe('pong')
  })

  it('ends its writable side when the peer ends (no half-open keep-alive connection)', async () => {
    const { relay, client } = await streamPair()
    client.attach({ data: () => {}, end: () => {}, drain: () => {}, close: () => {} })
    relay.resume()
    const finished = new Promise((resolve) => relay.once('finish', resolve))
    client.end()
    await finished
    expect(relay.writableEnded).toBe(true)
  })

  it('closes the stream with FINs, not a reset, when the peer ends first and it follows with bytes of its own', async () => {
    const { relay, client } = await streamPair()
    const got: Buffer[] = []
    let closedWith: string | undefined | null = null
    client.attach({ data: (c) => { got.push(c); client.consume(c.length) }, end: () => {}, drain: () => {}, close: (err) => { closedWith = err === undefined ? undefined : err.code } })
    // An echo: what comes in goes back, and the peer's end ends it (as a piped Duplex does).
    relay.pipe(relay)
    client.write(Buffer.from('last words'))
    client.end()
    await expect.poll(() => closedWith).toBeUndefined()
    expect(Buffer.concat(got).toString()).toBe('last words')
  })

  it('resets the stream when destroyed, and is destroyed with the error when the peer resets', async () => {
    const { relay, client } = await streamPair()
    let clientClosedWith: string | undefined
    client.attach({ data: () => {}, end: () => {}, drain: () => {}, close: (err) => { clientClosedWith = err?.code } })
    relay.destroy()
    await expect.poll(() => clientClosedWith).toBe('TUN_STREAM_RESET')

    const second = await streamPair()
    const failed = new Promise<Error>((resolve) => second.relay.once('error', resolve))
    second.client.reset()
    expect(await failed).toMatchObject({ code: 'TUN_STREAM_RESET' })
  })

  it('has net.Socket\'s timeout: emitted after exactly the inactivity (activity restarts it), off with 0, which also removes the callback', async () => {
    const { relay } = await streamPair()
    const cb = vi.fn()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      relay.setTimeout(30, cb)
      expect(relay.listenerCount('timeout')).toBe(1)
      vi.advanceTimersByTime(20)
      relay.write(Buffer.from('x')) // activity starts the inactivity over
      vi.advanceTimersByTime(29)
      expect(cb).not.toHaveBeenCalled()
      vi.advanceTimersByTime(1)
      expect(cb).toHaveBeenCalledTimes(1)
    } finally {
      vi.useRealTimers()
    }
    relay.setTimeout(0, cb)
    expect(relay.listenerCount('timeout')).toBe(0)
    expect(relay.timeout).toBe(0)
  })
})

describe('Upstream', () => {
  it('serves many keep-alive requests over one stream without piling up listeners', async () => {
    pair = await newPair()
    const svc = await startHttpService('a')
    const fwd = new TcpForwarder(tcpTarget(svc.port), log)
    pair.client.on('stream', (s) => { fwd.handle(s) })
    const upstream = new Upstream(pair.server, 'p', endpoint)
    let reused = 0
    for (let i = 0; i < 30; i++) {
      const { stream, fromPool } = await take(upstream)
      if (fromPool) reused++
      expect(await exchange(stream, `/${i}`)).toContain('HTTP/1.1 200 OK')
      upstream.give(stream)
    }
    expect(reused).toBe(29)
    expect(upstream.opened).toBe(1)
    expect(svc.connections).toBe(1)
    expect(upstream.rawStreams).toEqual({ idle: 1, busy: 0 })
    const { stream } = await take(upstream)
    for (const event of ['timeout', 'data', 'end', 'close', 'error']) expect(stream.listenerCount(event), event).toBeLessThanOrEqual(2)
    upstream.give(stream)
    upstream.closeIdle()
    await new Promise((resolve) => setImmediate(resolve))
    expect(upstream.rawStreams).toEqual({ idle: 0, busy: 0 })
    expect(pair.server.streamCount).toBe(0)
  })

  it('an idle stream whose session ends is dropped without an unhandled error', async () => {
    pair = await newPair()
    const svc = await startHttpService('a')
    const fwd = new TcpForwarder(tcpTarget(svc.port), log)
    pair.client.on('stream', (s) => { fwd.handle(s) })
    const upstream = new Upstream(pair.server, 'p', endpoint)
    const { stream } = await take(upstream)
    expect(await exchange(stream, '/')).toContain('HTTP/1.1 200 OK')
    upstream.give(stream)
    expect(upstream.rawStreams).toEqual({ idle: 1, busy: 0 })
    pair.server.close()
    await expect.poll(() => upstream.rawStreams.idle).toBe(0)
  })

  it('in direct mode hands bytes to its handler, holds their credit on request (the peer stops within its window), and still closes as a Duplex', async () => {
    const { relay, client } = await streamPair()
    let received = 0
    let ended = false
    relay.direct({ data: (c) => { received += c.length }, end: () => { ended = true }, drain: () => {}, close: () => {} })
    relay.holdReads(true)
    client.attach({ data: (c) => { client.consume(c.length) }, end: () => { client.end() }, drain: () => {}, close: () => {} })
    const total = 4 * INITIAL_WINDOW_BYTES
    client.write(Buffer.alloc(total, 2))
    client.end()
    for (let i = 0; i < 1000 && received < INITIAL_WINDOW_BYTES; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Held: no credit went back, so no more than the first window arrived.
    expect(received).toBe(INITIAL_WINDOW_BYTES)
    expect(client.queuedBytes).toBe(total - INITIAL_WINDOW_BYTES)
    const closed = new Promise((resolve) => relay.once('close', resolve))
    relay.holdReads(false)
    for (let i = 0; i < 500 && !ended; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(received).toBe(total)
    expect(relay.writeDirect(Buffer.from('bye'))).toBe(true)
    relay.end()
    await closed
  })
})

