// Fairness of the session's send scheduler, counted frame by frame on a fake wire: each busy
// stream and the datagram queue (all UDP flows together) take turns, a stream's turn is one DATA
// frame and the datagram queue's turn one quantum, so a UDP flood gets one stream's share and
// cannot starve TCP, and busy streams cannot starve UDP. The wire takes one batch per drain(),
// so every flush is seen on its own; nothing here depends on how fast the machine is.
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../shared/log.js'
import { DATAGRAM_QUANTUM_BYTES, SEND_BUDGET_BYTES, Session } from '../../shared/mux/session.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { encodeHeader, Flag, FrameType, HEADER_BYTES, MAX_DATA_BYTES } from '../../shared/wire/frame.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const DATAGRAM_BYTES = 1_200
const FLOWS = 10
const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }

let sessions: Session[] = []
afterEach(() => {
  for (const s of sessions) s.close()
  sessions = []
})

interface Turn {
  /** 'dgram' for the datagram queue, else the stream id. */
  who: number | 'dgram'
  /** Wire bytes (headers included) of the turn. */
  bytes: number
}

/** A session with `streams` streams that always have data and credit, and a datagram queue kept full. */
async function floodBed (streams: number, flood: boolean): Promise<{ s: Session, wire: FakeWire, ids: number[], flush: () => Promise<Turn[]> }> {
  const wire = new FakeWire({ busyAfterWrite: true })
  const s = new Session(wire, { role: 'server', logger: silentLogger() })
  sessions.push(s)
  await turn() // the ping every session sends at once
  const opened: MuxStream[] = Array.from({ length: streams }, () => s.openStream(open))
  for (const st of opened) for (let i = 0; i < 64; i++) st.write(Buffer.alloc(MAX_DATA_BYTES, st.id))
  let flow = 0
  const fill = (): void => {
    // Round-robin over the flows until the queue refuses more: a flood that never lets up.
    for (let refused = 0; refused < FLOWS;) {
      const r = s.sendDatagram(2 + 2 * (flow++ % FLOWS), Buffer.alloc(DATAGRAM_BYTES))
      refused = r === 'queued' ? 0 : refused + 1
    }
  }
  /** One flush (the wire drains, the session writes one batch); its turns, in order. */
  const flush = async (): Promise<Turn[]> => {
    if (flood) fill()
    const before = wire.batches.length
    wire.drain()
    await turn()
    expect(wire.batches.length).toBe(before + 1)
    const turns: Turn[] = []
    for (const f of wire.frames(before)) {
      const bytes = HEADER_BYTES + f.payload.length
      if (f.h.type === FrameType.DGRAM) {
        const last = turns.at(-1)
        if (last?.who === 'dgram') last.bytes += bytes
        else turns.push({ who: 'dgram', bytes })
      } else if (f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0) {
        turns.push({ who: f.h.id, bytes })
        // The peer returns the credit at once, so the stream never runs out of window.
        wire.receive(encodeHeader(FrameType.WINDOW_UPDATE, 0, f.h.id, f.payload.length))
      }
    }
    return turns
  }
  return { s, wire, ids: opened.map((st) => st.id), flush }
}

/** Every `cycle` consecutive turns hold each participant exactly once (a strict round-robin). */
function expectRoundRobin (turns: readonly Turn[], participants: ReadonlyArray<number | 'dgram'>): void {
  const start = participants.indexOf(turns[0]?.who ?? -1)
  expect(start).toBeGreaterThanOrEqual(0)
  const order = [...participants.slice(start), ...participants.slice(0, start)]
  expect(turns.map((t) => t.who)).toEqual(turns.map((_, i) => order[i % order.length]))
}

const MAX_DATAGRAM_WIRE = HEADER_BYTES + DATAGRAM_BYTES + 32 // + the flow-open block of a flow's first datagram

describe('send scheduler fairness', () => {
  it('gives a UDP flood one stream\'s share: three streams and the datagram queue take strict turns', async () => {
    const { ids, flush } = await floodBed(3, true)
    const turns: Turn[] = []
    for (let i = 0; i < 12; i++) turns.push(...await flush())
    expectRoundRobin(turns, [...ids, 'dgram'])
    // A stream's turn is one full frame; the datagram queue's is one quantum (plus at most the
    // datagram that crosses it), never more than a stream gets.
    for (const t of turns.filter((x) => x.who !== 'dgram')) expect(t.bytes).toBe(HEADER_BYTES + MAX_DATA_BYTES)
    for (const t of turns.filter((x) => x.who === 'dgram')) expect(t.bytes).toBeLessThan(DATAGRAM_QUANTUM_BYTES + MAX_DATAGRAM_WIRE)
    const bytesOf = (who: number | 'dgram'): number => turns.filter((t) => t.who === who).reduce((n, t) => n + t.bytes, 0)
    const rounds = turns.filter((t) => t.who === 'dgram').length
    expect(rounds).toBeGreaterThanOrEqual(11)
    for (const id of ids) expect(Math.abs(bytesOf(id) / (HEADER_BYTES + MAX_DATA_BYTES) - rounds)).toBeLessThanOrEqual(1)
  })

  it('does not starve a TCP stream during a flood: it sends a full frame every other turn, in every flush', async () => {
    const { ids, flush } = await floodBed(1, true)
    const stream = ids[0] ?? -1
    const all: Turn[] = []
    for (let i = 0; i < 20; i++) {
      const turns = await flush()
      // Each flush fills the send budget, and the stream's share of it is about half.
      const total = turns.reduce((n, t) => n + t.bytes, 0)
      expect(total).toBeGreaterThanOrEqual(SEND_BUDGET_BYTES)
      expect(turns.filter((t) => t.who === stream).length).toBeGreaterThanOrEqual(1)
      all.push(...turns)
    }
    expectRoundRobin(all, [stream, 'dgram'])
    const tcp = all.filter((t) => t.who === stream).reduce((n, t) => n + t.bytes, 0)
    const udp = all.filter((t) => t.who === 'dgram').reduce((n, t) => n + t.bytes, 0)
    expect(tcp / (tcp + udp)).toBeGreaterThan(0.49)
    expect(tcp / (tcp + udp)).toBeLessThan(0.51)
  })

  it('does not starve UDP behind many busy streams: the datagram queue gets one turn per round of them', async () => {
    const { ids, flush } = await floodBed(8, true)
    const turns: Turn[] = []
    for (let i = 0; i < 18; i++) turns.push(...await flush())
    expectRoundRobin(turns, [...ids, 'dgram'])
    expect(turns.filter((t) => t.who === 'dgram').length).toBeGreaterThanOrEqual(Math.floor(turns.length / 9))
  })

  it('lets streams alone share the wire frame by frame', async () => {
    const { ids, flush } = await floodBed(4, false)
    const turns: Turn[] = []
    for (let i = 0; i < 6; i++) turns.push(...await flush())
    expectRoundRobin(turns, ids)
    expect(turns.length).toBeGreaterThanOrEqual(6 * Math.floor(SEND_BUDGET_BYTES / (HEADER_BYTES + MAX_DATA_BYTES)))
  })
})
