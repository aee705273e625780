import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { TunnelError } from '../../shared/errors.js'
import { type MuxStream, INITIAL_WINDOW_BYTES, STREAM_SEND_HWM_BYTES } from '../../shared/mux/stream.js'
import { RTT_REFRESH_MS } from '../../shared/mux/rtt-filter.js'
import { encodeHeader, FrameType } from '../../shared/wire/frame.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }

interface Collected { readonly data: Buffer, ended: boolean, closed: Promise<TunnelError | undefined> }

/** Attaches to a stream, consuming (returning credit for) everything it receives. */
function collect (stream: MuxStream, consume = true, onDrain: () => void = () => {}): Collected {
  const parts: Buffer[] = []
  const c = {
    get data () { return Buffer.concat(parts) },
    ended: false,
    closed: Promise.resolve(undefined as TunnelError | undefined),
  }
  c.closed = new Promise((resolve) => {
    stream.attach({
      data (chunk) { parts.push(chunk); if (consume) stream.consume(chunk.length) },
      end () { c.ended = true },
      drain () { onDrain() },
      close (err) { resolve(err); onDrain() },
    })
  })
  return c
}

function nextStream (pair: MuxPair): Promise<MuxStream> {
  return new Promise((resolve) => pair.client.once('stream', resolve))
}

/** Writes `data` respecting back-pressure, then ends. */
async function writeAll (stream: MuxStream, data: Buffer, chunk = 16384): Promise<void> {
  let waitDrain: (() => void) | undefined
  stream.attach({ data () {}, end () {}, drain () { waitDrain?.() }, close () { waitDrain?.() } })
  for (let off = 0; off < data.length; off += chunk) {
    if (!stream.write(data.subarray(off, off + chunk))) {
      await new Promise<void>((resolve) => { waitDrain = resolve })
      if (stream.closed) return
    }
  }
  stream.end()
}

let pair: MuxPair | undefined
afterEach(() => { pair?.close(); pair = undefined })

describe('mux session', () => {
  it('carries bytes both ways and closes a stream after both half-closes', async () => {
    pair = await muxPair()
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const sIn = collect(s)
    const c = await accepted
    expect(c.open).toEqual(open)
    const cIn = collect(c)
    c.accept()
    s.write(Buffer.from('request'))
    s.end()
    await expect.poll(() => cIn.ended).toBe(true)
    expect(cIn.data.toString()).toBe('request')
    // The half-closed side still gets the whole reply.
    c.write(Buffer.from('reply after the request side closed'))
    c.end()
    expect(await sIn.closed).toBeUndefined()
    expect(await cIn.closed).toBeUndefined()
    expect(sIn.data.toString()).toBe('reply after the request side closed')
    expect(pair.server.streamCount).toBe(0)
    expect(pair.client.streamCount).toBe(0)
  })

  it('moves 32 MiB byte-exact through window growth', async () => {
    pair = await muxPair()
    const data = randomBytes(32 * 1024 * 1024)
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const c = await accepted
    const cIn = collect(c)
    await writeAll(s, data, 65536)
    await expect.poll(() => cIn.ended, { timeout: 20_000 }).toBe(true)
    expect(createHash('sha256').update(cIn.data).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
    expect(c.receiveWindowBytes).toBeGreaterThan(256 * 1024)
  })

  it('runs 1,000 concurrent streams to completion', async () => {
    pair = await muxPair()
    pair.client.on('stream', (st) => {
      // Echoes everything back once the opener has half-closed.
      const parts: Buffer[] = []
      st.attach({
        data (chunk) { parts.push(chunk); st.consume(chunk.length) },
        end () { st.write(Buffer.concat(parts)); st.end() },
        drain () {},
        close () {},
      })
      st.accept()
    })
    const streams = Array.from({ length: 1000 }, (_, i) => {
      const s = pair!.server.openStream(open)
      const col = collect(s)
      s.write(Buffer.from(`stream ${i}`))
      s.end()
      return { i, col }
    })
    const results = await Promise.all(streams.map(async ({ i, col }) => { await col.closed; return col.data.toString() === `stream ${i}` }))
    expect(results.every(Boolean)).toBe(true)
    expect(pair.server.streamCount).toBe(0)
  })

  it('bounds memory for a reader that never consumes while another stream keeps flowing', async () => {
    pair = await muxPair()
    const accepted: MuxStream[] = []
    pair.client.on('stream', (st) => accepted.push(st))
    const stuck = pair.server.openStream(open)
    let blocked = false
    stuck.attach({ data () {}, end () {}, drain () {}, close () {} })
    // Write 8 MiB into a stream whose reader never consumes.
    const chunk = Buffer.alloc(65536)
    for (let i = 0; i < 128 && !blocked; i++) blocked = !stuck.write(chunk)
    await expect.poll(() => accepted.length).toBe(1)
    const stuckIn = collect(accepted[0] as MuxStream, false)
    // Everything sent arrives, and that is at most the initial window; the sender keeps at most its queue mark.
    await expect.poll(() => stuckIn.data.length).toBe(stuck.bytesOut)
    const held = stuckIn.data.length
    expect(held).toBeLessThanOrEqual(INITIAL_WINDOW_BYTES)
    expect(blocked).toBe(true)
    expect(stuck.queuedBytes).toBeLessThanOrEqual(STREAM_SEND_HWM_BYTES + 65536 * 2)
    // A second stream on the same session is unaffected.
    const other = pair.server.openStream(open)
    await expect.poll(() => accepted.length).toBe(2)
    const otherIn = collect(accepted[1] as MuxStream)
    const data = randomBytes(4 * 1024 * 1024)
    await writeAll(other, data)
    await expect.poll(() => otherIn.ended, { timeout: 10_000 }).toBe(true)
    expect(otherIn.data.equals(data)).toBe(true)
    // All the while, nothing more reached the reader that never consumed.
    expect(stuckIn.data.length).toBe(held)
  })

  it('does not deadlock when both ends write more than a window at once', async () => {
    pair = await muxPair()
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const c = await accepted
    const a = randomBytes(3 * 1024 * 1024)
    const b = randomBytes(3 * 1024 * 1024)
    const wake = { s: (): void => {}, c: (): void => {} }
    const sIn = collect(s, true, () => { wake.s() })
    const cIn = collect(c, true, () => { wake.c() })
    const w1 = writeAllNoAttach(s, a, (resume) => { wake.s = resume })
    const w2 = writeAllNoAttach(c, b, (resume) => { wake.c = resume })
    await Promise.all([w1, w2, sIn.closed, cIn.closed])
    expect(sIn.data.equals(b)).toBe(true)
    expect(cIn.data.equals(a)).toBe(true)
  })

  it('measures RTT with ping', async () => {
    pair = await muxPair()
    const rtt = await pair.client.ping()
    expect(rtt).toBeGreaterThan(0)
    expect(pair.client.minRttMs).toBeLessThanOrEqual(rtt)
  })

  it('refreshes the RTT while a stream window is tuning, so a changed path is followed', async () => {
    // The sessions' clock moves only when the test moves it (see mux-session-time.test.ts for the
    // exact timing): the answered ping is a sample at 0, then the clock jumps past its freshness.
    let clock = 0
    pair = await muxPair({ now: () => clock })
    await pair.client.ping()
    clock += RTT_REFRESH_MS
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const c = await accepted
    const cIn = collect(c)
    const data = randomBytes(8 * 1024 * 1024)
    await writeAll(s, data)
    await expect.poll(() => cIn.ended, { timeout: 10_000, interval: 5 }).toBe(true)
    expect(cIn.data.equals(data)).toBe(true)
    // One probe, whose answer is a fresh sample for the rest of the transfer (the clock stands still).
    expect(pair.client.rttProbes).toBe(1)
  })

  it('resets a stream whose peer sends beyond the window, and keeps the session', async () => {
    pair = await muxPair()
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const sIn = collect(s)
    const c = await accepted
    collect(c, false)
    // Forge 300 KiB of DATA (more than the 256 KiB initial window) straight onto the wire.
    const payload = Buffer.alloc(60 * 1024)
    for (let i = 0; i < 5; i++) pair.serverSocket.write(Buffer.concat([encodeHeader(FrameType.DATA, 0, s.id, payload.length), payload]))
    const err = await sIn.closed
    expect(err?.code).toBe('TUN_STREAM_RESET')
    expect(pair.client.closed).toBe(false)
    expect(await pair.client.ping()).toBeGreaterThan(0)
  })

  it('closes the session with a protocol error on a malformed frame, without throwing', async () => {
    pair = await muxPair()
    const closed = new Promise<TunnelError | undefined>((resolve) => pair!.client.once('close', resolve))
    pair.serverSocket.write(Buffer.from([7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]))
    const err = await closed
    expect(err?.code).toBe('TUN_FRAME_INVALID')
  })

  it('fails every stream when the connection drops', async () => {
    pair = await muxPair()
    const accepted = nextStream(pair)
    const s = pair.server.openStream(open)
    const sIn = collect(s)
    await accepted
    pair.clientSocket.destroy()
    const err = await sIn.closed
    expect(err?.code).toBe('TUN_SESSION_CLOSED')
  })

  it('refuses new streams after go-away and tells the opener', async () => {
    pair = await muxPair()
    const got = new Promise<number>((resolve) => pair!.server.once('goaway', resolve))
    pair.client.goAway(0)
    expect(await got).toBe(0)
    const s = pair.server.openStream(open)
    const sIn = collect(s)
    const err = await sIn.closed
    expect(err?.code).toBe('TUN_TOO_MANY_STREAMS')
  })

  it('holds as many streams as each side\'s maxStreams allows and refuses the next on either side', async () => {
    // The opener allows 6, the accepting side 4 (issue 21: transport.maxStreams on each side).
    pair = await muxPair({ maxStreams: 6 }, { maxStreams: 4 })
    const accepted: MuxStream[] = []
    pair.client.on('stream', (c: MuxStream) => { accepted.push(c); collect(c); c.accept() })
    const opened = Array.from({ length: 5 }, () => pair!.server.openStream(open))
    const closed = opened.map((s) => collect(s).closed)
    // The fifth is refused by the accepting side with TOO_MANY_STREAMS; the first four stay open.
    const fifth = await closed[4]
    expect(fifth?.code).toBe('TUN_TOO_MANY_STREAMS')
    expect(accepted).toHaveLength(4)
    expect(pair.client.streamCount).toBe(4)
    expect(pair.server.streamCount).toBe(4)
    // The opener's own cap: two more reach 6, a seventh throws before anything is sent.
    pair.server.openStream(open)
    pair.server.openStream(open)
    expect(() => pair!.server.openStream(open)).toThrow(expect.objectContaining({ code: 'TUN_TOO_MANY_STREAMS' }))
  })
})

/**
 * Like writeAll for a stream already attached elsewhere: that handler's drain (or close) calls
 * the function handed to `onWait`.
 */
async function writeAllNoAttach (stream: MuxStream, data: Buffer, onWait: (resume: () => void) => void): Promise<void> {
  for (let off = 0; off < data.length; off += 65536) {
    // write() always accepts the chunk; false asks us to wait for 'drain' before the next one.
    if (!stream.write(data.subarray(off, off + 65536))) {
      await new Promise<void>((resolve) => { onWait(resolve) })
      if (stream.closed) return
    }
  }
  stream.end()
}
