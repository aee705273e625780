// The mux session's clocks on simulated time: heartbeat pings, the silence check that ends a
// session whose peer went quiet, and the fresh RTT sample window tuning asks for. A fake wire
// stands in for the socket and vitest's fake timers (with the session's injected clock on the
// same fake Date) move time; flushes still run on real event-loop turns.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { RTT_REFRESH_MS } from '../../shared/mux/rtt-filter.js'
import { Session, silenceCheckMs, type SessionOptions } from '../../shared/mux/session.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { encodeHeader, Flag, FrameType, GoAwayCode, MAX_DATA_BYTES } from '../../shared/wire/frame.js'
import { encodeOpen } from '../../shared/wire/open.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const TIMEOUT_MS = 2_000

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

const pingsSent = (wire: FakeWire): number[] =>
  wire.frames().filter((f) => f.h.type === FrameType.PING && f.h.flags === Flag.SYN).map((f) => f.h.length)

const pingFrom = (value: number, flags: number): Buffer => encodeHeader(FrameType.PING, flags, 0, value)

describe('heartbeat timeout on simulated time', () => {
  it('closes the session at the first silence check after the configured silence, and not a millisecond before', async () => {
    const wire = new FakeWire()
    const s = session(wire, { heartbeatTimeoutMs: TIMEOUT_MS })
    let closedWith: TunnelError | undefined
    s.on('close', (err) => { closedWith = err })
    const check = silenceCheckMs(TIMEOUT_MS)
    // Checks run every `check` ms; the one at exactly TIMEOUT_MS sees no more than the timeout.
    const closesAt = (Math.floor(TIMEOUT_MS / check) + 1) * check
    vi.advanceTimersByTime(closesAt - 1)
    expect(s.closed).toBe(false)
    vi.advanceTimersByTime(1)
    expect(s.closed).toBe(true)
    expect(closedWith?.code).toBe('TUN_HEARTBEAT_TIMEOUT')
    expect(closedWith?.message).toContain(`for ${closesAt} ms (heartbeatTimeout ${TIMEOUT_MS} ms)`)
    // The peer is told why before the connection closes.
    expect(wire.frames().filter((f) => f.h.type === FrameType.GOAWAY).map((f) => f.h.length)).toEqual([GoAwayCode.HEARTBEAT_TIMEOUT])
    expect(wire.closed).toBe('flushed')
    await turn()
  })

  it('counts the silence from the last frame received: a ping from the peer starts it again', async () => {
    const wire = new FakeWire()
    const s = session(wire, { heartbeatTimeoutMs: TIMEOUT_MS })
    const check = silenceCheckMs(TIMEOUT_MS)
    vi.advanceTimersByTime(TIMEOUT_MS - 100)
    wire.receive(pingFrom(77, Flag.SYN))
    const heardAt = TIMEOUT_MS - 100
    expect(s.lastReceivedAt).toBe(Date.now())
    // The first check that sees more than TIMEOUT_MS of silence since heardAt.
    const closesAt = (Math.floor((heardAt + TIMEOUT_MS) / check) + 1) * check
    vi.advanceTimersByTime(closesAt - 1 - heardAt)
    expect(s.closed).toBe(false)
    vi.advanceTimersByTime(1)
    expect(s.closed).toBe(true)
    // The ping was answered meanwhile (with the same value).
    expect(wire.frames().some((f) => f.h.type === FrameType.PING && f.h.flags === Flag.ACK && f.h.length === 77)).toBe(true)
  })

  it('never closes a session whose peer keeps talking', () => {
    const wire = new FakeWire()
    const s = session(wire, { heartbeatTimeoutMs: TIMEOUT_MS })
    for (let t = 0; t < 10 * TIMEOUT_MS; t += TIMEOUT_MS / 2) {
      wire.receive(pingFrom(t, Flag.SYN))
      vi.advanceTimersByTime(TIMEOUT_MS / 2)
    }
    expect(s.closed).toBe(false)
  })

  it('sends one ping at once and one per heartbeat interval, and stops when asked', async () => {
    const wire = new FakeWire()
    const s = session(wire, { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 5_000 })
    await turn()
    expect(pingsSent(wire)).toHaveLength(1)
    vi.advanceTimersByTime(3_000)
    await turn()
    expect(pingsSent(wire)).toEqual([1, 2, 3, 4])
    s.stopHeartbeat()
    vi.advanceTimersByTime(60_000)
    await turn()
    expect(pingsSent(wire)).toHaveLength(4)
    expect(s.closed).toBe(false) // the silence check stopped too
  })

  it('measures a round trip on the session clock', async () => {
    const wire = new FakeWire()
    const s = session(wire)
    const rtt = s.ping()
    await turn()
    const seq = pingsSent(wire).at(-1) ?? -1
    vi.advanceTimersByTime(37)
    wire.receive(pingFrom(seq, Flag.ACK))
    expect(await rtt).toBe(37)
    expect(s.lastRttMs).toBe(37)
  })
})

describe('graceful drain on simulated time', () => {
  const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }

  it('waits while a stream is open, resolves once the last one closed, and stops waiting when its signal aborts', async () => {
    const wire = new FakeWire()
    const s = session(wire)
    const stream = s.openStream(open)
    let drained = false
    const waiting = s.drained().then(() => { drained = true })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(drained).toBe(false)
    stream.reset()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(drained).toBe(true)
    await waiting

    const other = s.openStream(open)
    const stop = new AbortController()
    let gaveUp = false
    const cut = s.drained(stop.signal).then(() => { gaveUp = true })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(gaveUp).toBe(false)
    stop.abort()
    await vi.advanceTimersByTimeAsync(60_000)
    await cut
    expect(gaveUp).toBe(true)
    expect(other.closed).toBe(false)
  })
})

describe('fresh RTT samples for window tuning on simulated time', () => {
  const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }

  /** A stream the peer (a client: odd id) opened, whose consumer takes everything at once. */
  async function peerStream (wire: FakeWire, s: Session): Promise<MuxStream> {
    const opened = new Promise<MuxStream>((resolve) => s.once('stream', resolve))
    const payload = encodeOpen(open)
    wire.receive(encodeHeader(FrameType.DATA, Flag.SYN, 1, payload.length), payload)
    const stream = await opened
    stream.attach({ data (chunk) { stream.consume(chunk.length) }, end () {}, drain () {}, close () {} })
    return stream
  }

  /** Half the stream's receive window arrives and is consumed: the point where window tuning looks at the RTT. */
  function halfWindow (wire: FakeWire, stream: MuxStream): void {
    let left = stream.receiveWindowBytes / 2
    while (left > 0) {
      const n = Math.min(left, MAX_DATA_BYTES)
      wire.receive(encodeHeader(FrameType.DATA, 0, stream.id, n), Buffer.alloc(n))
      left -= n
    }
  }

  it('asks for one probe once the newest sample is RTT_REFRESH_MS old, and none while it is younger or one is out', async () => {
    const wire = new FakeWire()
    const s = session(wire)
    await turn()
    // The ping every session sends at once is answered 20 ms later: a sample at t0 + 20.
    const first = pingsSent(wire)
    expect(first).toHaveLength(1)
    vi.advanceTimersByTime(20)
    wire.receive(pingFrom(first[0] ?? -1, Flag.ACK))
    expect(s.lastRttMs).toBe(20)
    const stream = await peerStream(wire, s)

    vi.advanceTimersByTime(RTT_REFRESH_MS - 1)
    halfWindow(wire, stream)
    expect(s.rttProbes).toBe(0)

    vi.advanceTimersByTime(1)
    halfWindow(wire, stream)
    expect(s.rttProbes).toBe(1)
    await turn()
    const probes = pingsSent(wire).slice(1)
    expect(probes).toHaveLength(1)

    // Still stale, but a probe is already out: no second one.
    vi.advanceTimersByTime(RTT_REFRESH_MS)
    halfWindow(wire, stream)
    expect(s.rttProbes).toBe(1)

    // Its answer is a fresh sample: nothing is due until that one is RTT_REFRESH_MS old.
    wire.receive(pingFrom(probes[0] ?? -1, Flag.ACK))
    await Promise.resolve() // the probe's promise settles
    await turn()
    expect(s.lastRttMs).toBe(RTT_REFRESH_MS)
    vi.advanceTimersByTime(RTT_REFRESH_MS - 1)
    halfWindow(wire, stream)
    expect(s.rttProbes).toBe(1)
    vi.advanceTimersByTime(1)
    halfWindow(wire, stream)
    expect(s.rttProbes).toBe(2)
    await turn()
    expect(pingsSent(wire)).toHaveLength(3)
  })
})
