import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../shared/log.js'
import { DATAGRAM_ENTRY_OVERHEAD_BYTES, DATAGRAM_FLOW_QUEUE_BYTES, DATAGRAM_FLOW_QUEUE_MIN, DatagramQueue } from '../../shared/mux/datagram-queue.js'
import { Session, SEND_BUDGET_BYTES } from '../../shared/mux/session.js'
import type { Wire } from '../../shared/mux/wire.js'
import { Flag, FrameType } from '../../shared/wire/frame.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const KIB = 1024

const session = (wire: Wire, limits?: { queueBytes: number, flowQueueBytes: number, wireBudgetBytes: number }): Session =>
  new Session(wire, { role: 'server', logger: silentLogger(), ...(limits === undefined ? {} : { datagramLimits: limits }) })

describe('session datagram drop policy', () => {
  it('lets a flow of large datagrams queue a burst of them, while small ones stay bounded by bytes', () => {
    const q = new DatagramQueue()
    const count = (id: number, size: number): number => {
      let n = 0
      while (q.offer(id, Buffer.alloc(size), undefined, 0) === 'queued') n++
      return n
    }
    // 32 KB datagrams (iperf3's default): DATAGRAM_FLOW_QUEUE_MIN of them, far above 128 KiB.
    expect(count(1, 32 * KIB)).toBe(DATAGRAM_FLOW_QUEUE_MIN)
    // 1,200-byte datagrams: about 128 KiB worth, not 16 x 1,200 nor 512 KiB.
    const small = count(2, 1200)
    expect(small).toBe(Math.floor(DATAGRAM_FLOW_QUEUE_BYTES / (1200 + DATAGRAM_ENTRY_OVERHEAD_BYTES)))
    expect(q.stats.dropped.flowQueueFull).toBe(2)
  })

  it('drops and counts datagrams while the wire is congested, without queueing them', () => {
    const wire = new FakeWire()
    const s = session(wire)
    wire.pending = 2 * 1024 * KIB
    for (let i = 0; i < 100; i++) expect(s.sendDatagram(2, Buffer.alloc(1200))).toBe('congested')
    expect(s.datagramStats.dropped.congested).toBe(100)
    expect(s.datagramQueueBytes).toBe(0)
    s.close()
  })

  it('bounds the queue per flow and per session while the wire cannot take more', async () => {
    const wire = new FakeWire()
    const s = session(wire, { queueBytes: 64 * KIB, flowQueueBytes: 16 * KIB, wireBudgetBytes: 1024 * KIB })
    wire.pending = SEND_BUDGET_BYTES // over the send budget: nothing leaves, datagrams wait
    const results = new Map<string, number>()
    for (let flow = 0; flow < 10; flow++) {
      for (let i = 0; i < 50; i++) {
        const r = s.sendDatagram(2 + flow * 2, Buffer.alloc(1000))
        results.set(r, (results.get(r) ?? 0) + 1)
      }
    }
    await turn()
    const perDatagram = 1000 + DATAGRAM_ENTRY_OVERHEAD_BYTES
    // 16 KiB per flow holds 15 datagrams; 64 KiB in all holds 61, i.e. 4 flows' worth.
    expect(results.get('queued')).toBe(Math.floor(64 * KIB / perDatagram))
    expect(s.datagramQueueBytes).toBeLessThanOrEqual(64 * KIB)
    expect(s.datagramStats.dropped.flowQueueFull).toBeGreaterThan(0)
    expect(s.datagramStats.dropped.queueFull).toBeGreaterThan(0)
    expect(s.datagramStats.queued + s.datagramStats.dropped.flowQueueFull + s.datagramStats.dropped.queueFull).toBe(500)
    // When the wire drains, the queued datagrams go out whole and in order per flow.
    wire.drain()
    await turn()
    const dgrams = wire.frames().filter((f) => f.h.type === FrameType.DGRAM)
    expect(dgrams).toHaveLength(results.get('queued') ?? -1)
    expect(dgrams.every((f) => f.payload.length === 1000)).toBe(true)
    expect(s.datagramQueueBytes).toBe(0)
    s.close()
  })

  it('sends control frames and pings before queued datagrams', async () => {
    const wire = new FakeWire()
    const s = session(wire)
    await turn()
    wire.batches.length = 0
    for (let i = 0; i < 20; i++) s.sendDatagram(2, Buffer.alloc(500, i))
    s.sendControl({ type: 'diagRequest', id: 1 })
    void s.ping()
    s.closeFlow(4)
    await turn()
    const types = wire.frames().map((f) => f.h.type)
    expect(types.slice(0, 3)).toEqual([FrameType.CONTROL, FrameType.PING, FrameType.DGRAM])
    expect(wire.frames()[2]?.h.flags).toBe(Flag.FIN)
    expect(types.slice(3)).toEqual(new Array(20).fill(FrameType.DGRAM))
    s.close()
  })

  it('gives a busy stream and a datagram backlog turns on the wire, neither starving the other', async () => {
    const wire = new FakeWire()
    const s = session(wire)
    const stream = s.openStream({ proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } })
    stream.write(Buffer.alloc(200 * KIB, 1))
    for (let i = 0; i < 150; i++) s.sendDatagram(2 + 2 * (i % 10), Buffer.alloc(1200))
    await turn()
    const frames = wire.frames()
    const dataBytes = frames.filter((f) => f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0).reduce((n, f) => n + f.payload.length, 0)
    const dgramBytes = frames.filter((f) => f.h.type === FrameType.DGRAM).reduce((n, f) => n + f.payload.length, 0)
    // One flush fills the send budget: roughly half each (one 64 KiB quantum per round).
    expect(dataBytes).toBeGreaterThanOrEqual(64 * KIB)
    expect(dgramBytes).toBeGreaterThanOrEqual(64 * KIB)
    s.close()
  })

  it('counts what is still queued as dropped when the session closes', () => {
    const wire = new FakeWire()
    const s = session(wire)
    wire.pending = SEND_BUDGET_BYTES
    for (let i = 0; i < 5; i++) s.sendDatagram(2, Buffer.alloc(10))
    s.close()
    expect(s.datagramStats.dropped.closed).toBe(5)
    expect(s.sendDatagram(2, Buffer.alloc(10))).toBe('closed')
  })
})

describe('datagram queue', () => {
  it('gathers small datagrams into one buffer and keeps big ones zero-copy', () => {
    const q = new DatagramQueue()
    const big = Buffer.alloc(60_000, 7)
    q.offer(2, Buffer.from('a'), Buffer.from([1, 2]), 0)
    q.offer(2, Buffer.from('bc'), undefined, 0)
    q.offer(4, big, undefined, 0)
    q.offer(4, Buffer.alloc(0), undefined, 0)
    const out: Buffer[] = []
    const wireBytes = q.take(out, 1024 * KIB)
    expect(wireBytes).toBe(12 + 3 + 12 + 2 + 12 + 60_000 + 12)
    expect(out).toHaveLength(4) // [a, bc] gathered, big's header, big itself, [empty]
    expect(out[2]).toBe(big)
    expect(q.empty).toBe(true)
    expect(q.bytes).toBe(0)
  })

  it('takes at least one datagram even when it is larger than the quantum', () => {
    const q = new DatagramQueue()
    q.offer(2, Buffer.alloc(30_000), undefined, 0)
    q.offer(2, Buffer.alloc(30_000), undefined, 0)
    const out: Buffer[] = []
    expect(q.take(out, 1)).toBe(30_012)
    expect(q.length).toBe(1)
  })
})

describe('datagram queue bounds', () => {
  it('always takes one datagram of the largest size, however small the bounds', () => {
    const q = new DatagramQueue({ queueBytes: 1024, flowQueueBytes: 512, wireBudgetBytes: 1024 * 1024 })
    expect(q.offer(2, Buffer.alloc(65_527), undefined, 0)).toBe('queued')
    expect(q.offer(2, Buffer.alloc(1), undefined, 0)).toBe('queueFull')
    expect(q.offer(4, Buffer.alloc(1), undefined, 0)).toBe('queueFull')
    q.take([], 1)
    expect(q.offer(4, Buffer.alloc(65_527), undefined, 0)).toBe('queued')
    expect(q.stats.dropped).toEqual({ congested: 0, queueFull: 2, flowQueueFull: 0, closed: 0 })
  })
})
