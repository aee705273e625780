// Two mux streams of two sessions joined by the relay (a visit): bytes both ways byte-exact,
// half-close each way, resets carried with their meaning, and flow control end to end: a reader
// that returns no credit holds its writer back, and what sits in between stays bounded.
import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { TunnelError } from '../../shared/errors.js'
import { joinStreams, type JoinResult } from '../../shared/mux/join.js'
import { INITIAL_WINDOW_BYTES, STREAM_SEND_HWM_BYTES, type MuxStream } from '../../shared/mux/stream.js'
import { ResetCode } from '../../shared/wire/frame.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }
const pairs: MuxPair[] = []
afterEach(() => { for (const p of pairs.splice(0)) p.close() })

interface End {
  stream: MuxStream
  received: () => Buffer
  ended: () => boolean
  closed: Promise<TunnelError | undefined>
  /** Resolves when write() may go on. */
  drained: () => Promise<void>
  /** Stop / start returning credit for what arrives. */
  setConsuming: (on: boolean) => void
}

function end (stream: MuxStream): End {
  const parts: Buffer[] = []
  let ended = false
  let consuming = true
  let unconsumed = 0
  let wake: (() => void) | undefined
  const closed = new Promise<TunnelError | undefined>((resolve) => {
    stream.attach({
      data (chunk) {
        parts.push(chunk)
        if (consuming) stream.consume(chunk.length)
        else unconsumed += chunk.length
      },
      end () { ended = true },
      drain () { wake?.() },
      close (err) { wake?.(); resolve(err) },
    })
  })
  return {
    stream,
    received: () => Buffer.concat(parts),
    ended: () => ended,
    closed,
    drained: async () => { await new Promise<void>((resolve) => { wake = resolve }) },
    setConsuming: (on) => {
      consuming = on
      if (on && unconsumed > 0) { stream.consume(unconsumed); unconsumed = 0 }
    },
  }
}

async function writeAll (e: End, data: Buffer, chunk = 32 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!e.stream.write(data.subarray(off, off + chunk))) await e.drained()
    if (e.stream.closed) return
  }
}

/** A visitor client's stream to the relay and the relay's stream to a home client, joined there. */
async function visit (): Promise<{ visitor: End, home: End, result: Promise<JoinResult>, relay: { fromVisitor: MuxStream, toHome: MuxStream } }> {
  const a = await muxPair()
  const b = await muxPair()
  pairs.push(a, b)
  const atRelay = new Promise<MuxStream>((resolve) => a.server.once('stream', resolve))
  const visitor = a.client.openStream(open)
  const fromVisitor = await atRelay
  const atHome = new Promise<MuxStream>((resolve) => b.client.once('stream', resolve))
  const toHome = b.server.openStream(open)
  let done: (r: JoinResult) => void = () => {}
  const result = new Promise<JoinResult>((resolve) => { done = resolve })
  joinStreams(fromVisitor, toHome, done)
  return { visitor: end(visitor), home: end(await atHome), result, relay: { fromVisitor, toHome } }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('joined streams', () => {
  it('carry 8 MiB each way byte-exact, half-close each way, and close cleanly', async () => {
    const { visitor, home, result } = await visit()
    const up = randomBytes(8 * 1024 * 1024)
    const down = randomBytes(8 * 1024 * 1024)
    await Promise.all([writeAll(visitor, up), writeAll(home, down)])
    visitor.stream.end()
    await expect.poll(() => home.ended()).toBe(true)
    expect(home.stream.closed).toBe(false)
    home.stream.end()
    expect(await visitor.closed).toBeUndefined()
    expect(await home.closed).toBeUndefined()
    expect(sha(home.received())).toBe(sha(up))
    expect(sha(visitor.received())).toBe(sha(down))
    expect(await result).toMatchObject({ bytesAtoB: up.length, bytesBtoA: down.length, error: undefined })
  })

  it('hold a writer back while the far reader returns no credit, with a bounded amount in between', async () => {
    const { visitor, home, relay } = await visit()
    home.setConsuming(false)
    const data = randomBytes(4 * 1024 * 1024)
    let written = 0
    const writing = (async () => {
      for (let off = 0; off < data.length; off += 16 * 1024) {
        written = off
        if (!visitor.stream.write(data.subarray(off, off + 16 * 1024))) await visitor.drained()
      }
      written = data.length
    })()
    // The home reader takes one window and gives no credit; the writer stalls well short of 4 MiB.
    await expect.poll(() => home.received().length).toBe(INITIAL_WINDOW_BYTES)
    await expect.poll(() => visitor.stream.queuedBytes > 0 && written < data.length).toBe(true)
    // What the relay holds for the stalled home reader: at most its queue's mark plus what the
    // visitor could send without credit (one receive window), never the 4 MiB.
    expect(relay.toHome.queuedBytes).toBeLessThanOrEqual(STREAM_SEND_HWM_BYTES + relay.fromVisitor.receiveWindowBytes)
    expect(written - home.received().length).toBeLessThan(2 * 1024 * 1024)
    home.setConsuming(true)
    await writing
    visitor.stream.end()
    await expect.poll(() => home.ended()).toBe(true)
    expect(sha(home.received())).toBe(sha(data))
  })

  it('carry a reset with its meaning: the service refused, the visit was forbidden, any other', async () => {
    for (const [code, expected] of [[ResetCode.REFUSED, 'TUN_LOCAL_DIAL'], [ResetCode.FORBIDDEN, 'TUN_VISIT_REFUSED'], [ResetCode.SOCKET_ERROR, 'TUN_STREAM_RESET']] as const) {
      const { visitor, home, result } = await visit()
      home.stream.reset(code)
      expect((await visitor.closed)?.code).toBe(expected)
      expect((await result).error).toBeDefined()
    }
    const { visitor, home } = await visit()
    visitor.stream.reset(ResetCode.CANCEL)
    expect((await home.closed)?.code).toBe('TUN_STREAM_RESET')
  })

  it('reset the visitor when the home client\'s session goes away', async () => {
    const { visitor } = await visit()
    const b = pairs[1] as MuxPair
    b.clientSocket.destroy()
    expect((await visitor.closed)?.code).toBe('TUN_STREAM_RESET')
  })
})
