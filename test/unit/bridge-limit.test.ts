// A bridge with a bandwidth limiter paces both directions without buffering beyond the mux
// windows: the far side of the stream is held back by credit, the socket's writer by TCP. The
// pacing is checked on simulated time (see pacedClock), so a busy machine cannot fail it.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TokenBucket } from '../../shared/limit/token-bucket.js'
import { bridge } from '../../shared/mux/bridge.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { loopbackSocketPair } from '../helpers/socket-pair.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }
const RATE = 256 * 1024
const MB = 1024 * 1024

let pair: MuxPair | undefined
const sockets: Socket[] = []
afterEach(() => {
  pair?.close()
  pair = undefined
  for (const s of sockets.splice(0)) s.destroy()
})


/** Largest piece the bridge charges at once: a mux DATA frame, or one socket read. */
const MAX_CHUNK = 64 * 1024
/** Simulated time per step: the refill of a step stays below the burst, so none is lost to the cap. */
const STEP_MS = 50
const STEPS = 40

/**
 * The bucket runs on a manual clock and the bridge's pause timers on fake setTimeout; both move
 * only in step(). Between steps the bytes move for real (loopback sockets, the mux pair), and
 * the test waits until they stand still: the bucket in debt (the bridge waits for its timer) and
 * every byte charged delivered. Then the bytes through the bucket must be burst + rate × time,
 * plus less than one chunk of debt: exact to the chunk, whatever the machine's speed.
 */
function pacedClock (): { limiter: TokenBucket, step: () => void, elapsedMs: () => number } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  let t = 0
  const limiter = new TokenBucket(RATE, { now: () => t })
  return {
    limiter,
    step: () => { t += STEP_MS; vi.advanceTimersByTime(STEP_MS) },
    elapsedMs: () => t,
  }
}

/** Waits (for I/O, not time: the clocks stand still) until `cond` holds; gives up after 10 s. */
async function settled (cond: () => boolean): Promise<void> {
  const giveUp = performance.now() + 10_000
  while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
  expect(cond()).toBe(true)
}

/** After `elapsedMs` of simulated time, what went through the bucket is the burst + rate × time + under one chunk of debt. */
function expectPaced (limiter: TokenBucket, elapsedMs: number): void {
  const floor = limiter.burst + RATE * elapsedMs / 1000
  expect(limiter.stats.bytes).toBeGreaterThan(floor)
  expect(limiter.stats.bytes).toBeLessThan(floor + MAX_CHUNK)
}

describe('bridge with a bandwidth limiter', () => {
  afterEach(() => { vi.useRealTimers() })

  it('stream → socket: writes burst + rate × simulated time and returns credit only as fast, so the sender is held back', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await loopbackSocketPair(sockets)
    const { limiter, step, elapsedMs } = pacedClock()
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
    const flood = (async () => {
      for (let i = 0; i < 100_000 && !stop; i++) {
        if (!sender.write(chunk)) await new Promise<void>((resolve) => { wake = resolve })
      }
    })()
    for (let i = 0; i <= STEPS; i++) {
      if (i > 0) step()
      await settled(() => limiter.delayMs() > 0 && received === limiter.stats.bytes)
      expectPaced(limiter, elapsedMs())
      // Sent = written to the socket + at most the receive window in flight or waiting.
      expect(sender.bytesOut).toBeLessThanOrEqual(received + stream.receiveWindowBytes)
    }
    expect(limiter.stats.waits).toBeGreaterThan(0)
    stop = true
    wake?.()
    await flood
  })

  it('socket → stream: reads burst + rate × simulated time; the writer is held back by TCP, not by our memory', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await loopbackSocketPair(sockets)
    const { limiter, step, elapsedMs } = pacedClock()
    bridge(stream, near, undefined, { limiter })
    const receiver = await accepted
    receiver.accept()
    let received = 0
    receiver.attach({ data (c) { received += c.length; receiver.consume(c.length) }, end () {}, drain () {}, close () {} })

    // The far end writes 64 MB as fast as TCP lets it.
    let written = 0
    let stop = false
    const block = Buffer.alloc(64 * 1024, 9)
    far.on('close', () => { stop = true; far.emit('drain') })
    const writer = (async () => {
      while (!stop && written < 64 * MB) {
        written += block.length
        if (!far.write(block)) await new Promise<void>((resolve) => { far.once('drain', resolve) })
      }
    })()
    for (let i = 0; i <= STEPS; i++) {
      if (i > 0) step()
      await settled(() => limiter.delayMs() > 0 && received === limiter.stats.bytes)
      expectPaced(limiter, elapsedMs())
      // What was read from the socket was charged (a paused socket may hold one more read).
      expect(near.bytesRead).toBeLessThanOrEqual(limiter.stats.bytes + MAX_CHUNK)
    }
    // The rest stayed in the writer's buffers and the kernel's, never read into the relay.
    expect(written - near.bytesRead).toBeGreaterThan(0)
    far.destroy()
    await writer
  })

  it('delivers every byte in order and the FIN after the paced data', async () => {
    pair = await muxPair()
    const accepted = new Promise<MuxStream>((resolve) => pair?.client.once('stream', resolve))
    const stream = pair.server.openStream(open)
    const [near, far] = await loopbackSocketPair(sockets)
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
