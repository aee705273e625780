// A bridge with a bandwidth limiter paces both directions without buffering beyond the mux
// windows: the far side of the stream is held back by credit, the socket's writer by TCP.
import { createServer, connect, type Socket, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TokenBucket } from '../../shared/limit/token-bucket.js'
import { bridge } from '../../shared/mux/bridge.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { INITIAL_WINDOW_BYTES } from '../../shared/mux/stream.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }
const RATE = 256 * 1024
const RUN_MS = 1_200
const MB = 1024 * 1024

let pair: MuxPair | undefined
const sockets: Socket[] = []
afterEach(() => {
  pair?.close()
  pair = undefined
  for (const s of sockets.splice(0)) s.destroy()
})

/** Two ends of a loopback TCP connection. */
async function socketPair (): Promise<[Socket, Socket]> {
  const listener = createServer({ allowHalfOpen: true })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve))
  const a = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, allowHalfOpen: true })
  const b = await accepted
  listener.close()
  sockets.push(a, b)
  return [a, b]
}

/** What the bucket can have let through since `started` (measured, so a late timer cannot fail it): rate × time + burst + one chunk of debt. */
const allowedAfter = (started: number, limiter: TokenBucket): number => RATE * (performance.now() - started) / 1000 + limiter.burst + 64 * 1024

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('bridge with a bandwidth limiter', () => {
  it('stream → socket: writes at the rate and returns credit only as fast, so the sender is held back', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await socketPair()
    const limiter = new TokenBucket(RATE)
    bridge(stream, near, undefined, { limiter })
    let received = 0
    far.on('data', (c: Buffer) => { received += c.length })

    // The client side floods the stream as fast as credit allows.
    const sender = await accepted
    sender.accept()
    let stop = false
    let wake: (() => void) | undefined
    sender.attach({ data () {}, end () {}, drain () { wake?.() }, close () { stop = true; wake?.() } })
    const chunk = Buffer.alloc(16 * 1024, 7)
    const started = performance.now()
    const flood = (async () => {
      for (let i = 0; i < 100_000 && !stop; i++) {
        if (!sender.write(chunk)) await new Promise<void>((resolve) => { wake = resolve })
      }
    })()
    await sleep(RUN_MS)
    const allowed = allowedAfter(started, limiter)
    const got = received
    const sent = sender.bytesOut
    stop = true
    wake?.()
    await flood
    expect(got).toBeLessThanOrEqual(allowed)
    expect(got).toBeGreaterThan(RATE * RUN_MS / 1000 * 0.5)
    // Sent = written to the socket + at most one receive window in flight or waiting: bounded.
    expect(sent).toBeLessThanOrEqual(allowed + INITIAL_WINDOW_BYTES)
    expect(limiter.stats.waits).toBeGreaterThan(0)
  })

  it('socket → stream: reads at the rate; the writer is held back by TCP, not by our memory', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await socketPair()
    const limiter = new TokenBucket(RATE)
    bridge(stream, near, undefined, { limiter })
    const receiver = await accepted
    receiver.accept()
    let received = 0
    receiver.attach({ data (c) { received += c.length; receiver.consume(c.length) }, end () {}, drain () {}, close () {} })

    // The far end writes 64 MB as fast as TCP lets it.
    let written = 0
    let stop = false
    const block = Buffer.alloc(64 * 1024, 9)
    const started = performance.now()
    const writer = (async () => {
      while (!stop && written < 64 * MB) {
        written += block.length
        if (!far.write(block)) await new Promise<void>((resolve) => { far.once('drain', resolve); setTimeout(resolve, 50) })
      }
    })()
    await sleep(RUN_MS)
    const allowed = allowedAfter(started, limiter)
    const got = received
    const read = near.bytesRead
    stop = true
    await writer
    expect(got).toBeLessThanOrEqual(allowed)
    expect(got).toBeGreaterThan(RATE * RUN_MS / 1000 * 0.5)
    // The rest stayed in the writer's buffers and the kernel's, never read into the relay.
    expect(read).toBeLessThanOrEqual(allowed)
    expect(written - near.bytesRead).toBeGreaterThan(0)
  })

  it('delivers every byte in order and the FIN after the paced data', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await socketPair()
    bridge(stream, near, undefined, { limiter: new TokenBucket(4 * MB) })
    const sender = await accepted
    sender.accept()
    const data = Buffer.alloc(MB)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
    const got: Buffer[] = []
    const ended = new Promise<void>((resolve) => { far.on('data', (c: Buffer) => got.push(c)); far.once('end', resolve) })
    let wake: (() => void) | undefined
    sender.attach({ data () {}, end () {}, drain () { wake?.() }, close () { wake?.() } })
    for (let off = 0; off < data.length; off += 16 * 1024) {
      if (!sender.write(data.subarray(off, off + 16 * 1024))) await new Promise<void>((resolve) => { wake = resolve })
    }
    sender.end()
    await ended
    expect(Buffer.concat(got).equals(data)).toBe(true)
  })
})
