// The session's backpressure toward a peer that does not read (issue 22, finding 3), on a fake
// wire that holds every byte written (the peer takes nothing) and on fake timers: reading pauses
// once the queue toward the peer passes its bound, resumes when the peer has taken it, and a peer
// that takes none of our bytes within the timeout is dropped, paused or not. A stream without credit never counts: its
// bytes wait in the stream, not toward the peer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { PEER_NOT_READING_TIMEOUT_MS, PEER_QUEUE_CLOSE_BYTES, PEER_QUEUE_PAUSE_BYTES, Session, type SessionOptions } from '../../shared/mux/session.js'
import { encodeHeader, Flag, FrameType, HEADER_BYTES } from '../../shared/wire/frame.js'
import { encodeOpen } from '../../shared/wire/open.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const OPEN = { proxy: 'p', visitor: { address: '192.0.2.1', port: 1 }, listener: { address: '0.0.0.0', port: 2 } }
/** Pings per chunk from the peer: what one socket read can carry (64 KiB). */
const PINGS_PER_CHUNK = Math.floor(64 * 1024 / HEADER_BYTES)

let sessions: Session[] = []

beforeEach(() => {
  // setImmediate stays real: the session's flushes run on real turns (see turn()).
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})

afterEach(() => {
  for (const s of sessions) s.close()
  sessions = []
  vi.useRealTimers()
})

function session (wire: FakeWire, options: Partial<SessionOptions> = {}): Session {
  const s = new Session(wire, { role: 'server', logger: silentLogger(), now: () => Date.now(), ...options })
  sessions.push(s)
  return s
}

function pings (n: number, from = 0): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => encodeHeader(FrameType.PING, Flag.SYN, 0, from + i)))
}

/** The peer sends pings, one 64 KiB chunk per turn, until the session stops reading (or `maxChunks`). */
async function floodUntilPaused (wire: FakeWire, maxChunks: number): Promise<number> {
  let chunks = 0
  while (!wire.readingPaused && chunks < maxChunks) {
    wire.receive(pings(PINGS_PER_CHUNK, chunks * PINGS_PER_CHUNK))
    chunks++
    await turn()
  }
  return chunks
}

describe('a peer that does not read', () => {
  it('makes the session stop reading once the replies queued for it pass the bound, and never queue much more', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    const chunksToBound = Math.ceil(PEER_QUEUE_PAUSE_BYTES / (PINGS_PER_CHUNK * HEADER_BYTES))
    const chunks = await floodUntilPaused(wire, chunksToBound * 4)
    expect(wire.readingPaused).toBe(true)
    expect(s.readPaused).toBe(true)
    expect(s.readPauses).toBe(1)
    // Paused within one chunk of the bound: the pings it read after that are answered, no more.
    expect(chunks).toBeLessThanOrEqual(chunksToBound + 1)
    expect(s.peerQueuedMaxBytes).toBeLessThan(PEER_QUEUE_PAUSE_BYTES + 2 * PINGS_PER_CHUNK * HEADER_BYTES)
    expect(s.closed).toBe(false)
  })

  it('reads again once the peer has taken what was queued for it', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    await floodUntilPaused(wire, 1000)
    expect(s.readPaused).toBe(true)
    wire.drain()
    expect(wire.readingPaused).toBe(false)
    expect(s.readPaused).toBe(false)
    // Long after, it is still open: the timeout stopped with the pause.
    vi.advanceTimersByTime(PEER_NOT_READING_TIMEOUT_MS * 2)
    expect(s.closed).toBe(false)
  })

  it('is dropped with TUN_PEER_NOT_READING when it takes nothing within the timeout, and not a millisecond before', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    let closedWith: TunnelError | undefined
    s.on('close', (err) => { closedWith = err })
    await floodUntilPaused(wire, 1000)
    vi.advanceTimersByTime(PEER_NOT_READING_TIMEOUT_MS - 1)
    expect(s.closed).toBe(false)
    vi.advanceTimersByTime(1)
    expect(s.closed).toBe(true)
    expect(closedWith?.code).toBe('TUN_PEER_NOT_READING')
    // Nothing more is flushed toward a peer that takes nothing: the connection is dropped.
    expect(wire.closed).toBe('aborted')
  })

  it('keeps its session while it takes some of our bytes now and then, however slowly', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    await floodUntilPaused(wire, 1000)
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(PEER_NOT_READING_TIMEOUT_MS - 1)
      wire.pending -= 1000 // the peer took a little
    }
    expect(s.closed).toBe(false)
    expect(s.readPaused).toBe(true)
  })

  it('is dropped when it takes none of the data frames waiting for it, though they never reach the pause bound', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    let closedWith: TunnelError | undefined
    s.on('close', (err) => { closedWith = err })
    const stream = s.openStream(OPEN)
    stream.attach({ data () {}, end () {}, drain () {}, close () {} })
    stream.write(Buffer.alloc(200 * 1024))
    await turn()
    expect(wire.pending).toBeGreaterThan(0)
    expect(s.readPaused).toBe(false)
    vi.advanceTimersByTime(PEER_NOT_READING_TIMEOUT_MS)
    expect(closedWith?.code).toBe('TUN_PEER_NOT_READING')
  })

  it('uses the timeout the session was given', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire, { peerNotReadingTimeoutMs: 500 })
    await floodUntilPaused(wire, 1000)
    vi.advanceTimersByTime(500)
    expect(s.closed).toBe(true)
  })

  it('is not dropped for silence while the session itself is not reading', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire, { heartbeatTimeoutMs: 1_000, peerNotReadingTimeoutMs: 10_000 })
    let closedWith: TunnelError | undefined
    s.on('close', (err) => { closedWith = err })
    await floodUntilPaused(wire, 1000)
    vi.advanceTimersByTime(5_000)
    expect(s.closed).toBe(false)
    vi.advanceTimersByTime(5_000)
    expect(closedWith?.code).toBe('TUN_PEER_NOT_READING')
  })

  it('gets no new stream while reading from it is paused', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    await floodUntilPaused(wire, 1000)
    expect(() => s.openStream(OPEN)).toThrow(expect.objectContaining({ code: 'TUN_PEER_NOT_READING' }))
  })

  it('is dropped at once when the queue passes its hard bound even while paused', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    await floodUntilPaused(wire, 1000)
    wire.pending = PEER_QUEUE_CLOSE_BYTES
    s.goAway() // anything more we queue ourselves
    expect(s.closed).toBe(true)
  })

  it('counts control frames and data frames toward one bound: a stream\'s data fills it as replies do', async () => {
    const wire = new FakeWire({ holdWrites: true })
    const s = session(wire)
    const stream = s.openStream(OPEN)
    stream.attach({ data () {}, end () {}, drain () {}, close () {} })
    // The peer grants a large window, then stops reading: the data frames stay on the wire.
    wire.receive(encodeHeader(FrameType.WINDOW_UPDATE, 0, stream.id, 16 * 1024 * 1024))
    const chunk = Buffer.alloc(64 * 1024)
    for (let i = 0; i < 64 && !wire.readingPaused; i++) {
      stream.write(chunk)
      await turn()
      // The scheduler writes data frames only while the wire holds less than its send budget...
    }
    expect(wire.pending).toBeLessThan(PEER_QUEUE_PAUSE_BYTES)
    expect(s.readPaused).toBe(false)
    // ...so pings are what takes the queue past the bound.
    await floodUntilPaused(wire, 1000)
    expect(s.readPaused).toBe(true)
    expect(s.peerQueuedMaxBytes).toBeLessThan(PEER_QUEUE_PAUSE_BYTES + 2 * PINGS_PER_CHUNK * HEADER_BYTES)
  })
})

describe('a stream without credit', () => {
  it('holds its bytes in the stream and never pauses reading from the peer', async () => {
    const wire = new FakeWire({ holdWrites: false })
    const s = session(wire)
    const peerOpened = s.openStream(OPEN)
    peerOpened.attach({ data () {}, end () {}, drain () {}, close () {} })
    let blocked = 0
    const chunk = Buffer.alloc(64 * 1024)
    // The window (256 KiB) goes out; the rest waits for credit that never comes.
    for (let i = 0; i < 16; i++) {
      if (!peerOpened.write(chunk)) blocked++
      await turn()
    }
    expect(blocked).toBeGreaterThan(0)
    expect(peerOpened.queuedBytes).toBeGreaterThan(0)
    expect(s.readPaused).toBe(false)
    expect(s.readPauses).toBe(0)
    // Another stream still opens and its SYN goes out.
    const other = s.openStream(OPEN)
    await turn()
    expect(wire.frames().some((f) => f.h.type === FrameType.DATA && f.h.id === other.id && f.h.flags === Flag.SYN && f.payload.equals(encodeOpen(OPEN)))).toBe(true)
  })
})
