// The session's buffer cap over its streams' send queues (issue 22, finding 9), on a fake wire
// that takes everything: under the cap a stream queues up to its mark; over it a stream reads only
// what its credit lets it send at once, so a stream without credit stops its source while one
// with credit keeps going, and the first resumes when credit comes back.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../shared/log.js'
import { INITIAL_WINDOW_BYTES, Session } from '../../shared/mux/session.js'
import { SOCKET_READ_BYTES, STREAM_SEND_HWM_BYTES, type MuxStream } from '../../shared/mux/stream.js'
import { encodeHeader, FrameType } from '../../shared/wire/frame.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const OPEN = { proxy: 'p', visitor: { address: '192.0.2.1', port: 1 }, listener: { address: '0.0.0.0', port: 2 } }
const READ = Buffer.alloc(SOCKET_READ_BYTES)

interface Source { stream: MuxStream, paused: boolean, drains: number }

function source (s: Session): Source {
  const src: Source = { stream: s.openStream(OPEN), paused: false, drains: 0 }
  src.stream.attach({ data () {}, end () {}, drain () { src.paused = false; src.drains++ }, close () {} })
  return src
}

/** Reads as a bridged socket does: a chunk at a time while the stream takes them, one turn each. */
async function pump (src: Source, reads: number): Promise<number> {
  let n = 0
  while (n < reads && !src.paused) {
    if (!src.stream.write(READ)) src.paused = true
    n++
    await turn()
  }
  return n
}

describe('the session buffer cap', () => {
  it('lets a stream without credit queue up to its mark while the session is under the cap', async () => {
    const s = new Session(new FakeWire(), { role: 'server', logger: silentLogger(), maxBufferedBytes: 64 * 1024 * 1024 })
    const a = source(s)
    await pump(a, 64)
    expect(a.paused).toBe(true)
    // The window went out; what is left waits in the stream, up to its mark and one read more.
    expect(a.stream.queuedBytes).toBeGreaterThanOrEqual(STREAM_SEND_HWM_BYTES)
    expect(s.bufferedBytes).toBe(a.stream.queuedBytes)
    expect(s.bufferPauses).toBe(0)
    s.close()
  })

  it('over the cap stops a stream without credit at once, keeps one with credit reading, and resumes the first when credit returns', async () => {
    const wire = new FakeWire()
    const s = new Session(wire, { role: 'server', logger: silentLogger(), maxBufferedBytes: STREAM_SEND_HWM_BYTES })
    // The first stream fills the cap with bytes it cannot send (its window is spent).
    const a = source(s)
    await pump(a, 64)
    expect(s.bufferedBytes).toBeGreaterThanOrEqual(s.bufferLimitBytes)
    // A second stream spends its window, then stops without queueing a byte it cannot send.
    const b = source(s)
    const reads = await pump(b, 64)
    expect(b.paused).toBe(true)
    expect(reads).toBe(INITIAL_WINDOW_BYTES / SOCKET_READ_BYTES)
    await turn()
    expect(b.stream.queuedBytes).toBe(0)
    expect(s.bufferPauses).toBeGreaterThan(0)
    // A third stream whose peer returns credit as it goes keeps reading, one read at a time.
    const c = source(s)
    let cReads = 0
    for (let i = 0; i < 32; i++) {
      cReads += await pump(c, 1)
      wire.receive(encodeHeader(FrameType.WINDOW_UPDATE, 0, c.stream.id, SOCKET_READ_BYTES))
      if (c.paused) { await turn(); expect(c.paused).toBe(false) }
    }
    expect(cReads).toBe(32)
    // Credit for the second: it reads again.
    const drainsBefore = b.drains
    wire.receive(encodeHeader(FrameType.WINDOW_UPDATE, 0, b.stream.id, INITIAL_WINDOW_BYTES))
    expect(b.drains).toBe(drainsBefore + 1)
    expect(b.paused).toBe(false)
    s.close()
    expect(s.bufferedBytes).toBe(0)
  })
})
