import { describe, expect, it, vi } from 'vitest'
import { normalizeAddress, formatHostPort } from '../../shared/net/address.js'
import { EVICT_SCAN_LIMIT, FlowTable, MAX_FLOW_ID, nextFlowId } from '../../shared/udp/flow-table.js'
import { isEstablished, sweepIntervalMs } from '../../server/udp-proxy.js'
import { newFlowTally } from '../../shared/udp/counters.js'

interface F { name: string, lastSeen: number, precious?: boolean }

const flow = (name: string, precious = false): F => ({ name, lastSeen: 0, precious })
const keyOf = (address: string, port: number): string => formatHostPort(normalizeAddress(address), port)

describe('udp flow table', () => {
  it('keys flows by the normalised visitor address, so mapped and plain IPv4 are one flow', () => {
    const t = new FlowTable<string, F>({ maxFlows: 10, idleMs: 1000 })
    t.add(keyOf('::ffff:192.0.2.7', 5000), flow('a'), 0)
    expect(t.get(keyOf('192.0.2.7', 5000))?.name).toBe('a')
    expect(t.get(keyOf('0:0:0:0:0:ffff:c000:0207', 5000))?.name).toBe('a')
    expect(t.get(keyOf('192.0.2.7', 5001))).toBeUndefined()
    t.add(keyOf('2001:DB8::1', 5000), flow('v6'), 0)
    expect(t.get('[2001:db8::1]:5000')?.name).toBe('v6')
    expect(t.size).toBe(2)
  })

  it('expires flows idle for the timeout, measured from their last datagram (injected clock)', () => {
    const t = new FlowTable<string, F>({ maxFlows: 10, idleMs: 1000 })
    const a = flow('a')
    const b = flow('b')
    t.add('a', a, 0)
    t.add('b', b, 100)
    t.touch('a', a, 900) // a is used again: b is now the oldest
    expect(t.expire(1099).map(([k]) => k)).toEqual([])
    expect(t.expire(1100).map(([k]) => k)).toEqual(['b'])
    expect(t.expire(1899)).toEqual([])
    expect(t.expire(1900).map(([k]) => k)).toEqual(['a'])
    expect(t.size).toBe(0)
  })

  it('expires with fake timers driving a sweep, like the proxies do', () => {
    vi.useFakeTimers()
    try {
      const t = new FlowTable<string, F>({ maxFlows: 10, idleMs: 120_000 })
      const expired: string[] = []
      const timer = setInterval(() => { for (const [k] of t.expire(Date.now())) expired.push(k) }, sweepIntervalMs(t.idleMs))
      t.add('quiet', flow('quiet'), Date.now())
      const busy = flow('busy')
      t.add('busy', busy, Date.now())
      for (let s = 0; s < 180; s++) {
        vi.advanceTimersByTime(1000)
        t.touch('busy', busy, Date.now())
      }
      clearInterval(timer)
      expect(expired).toEqual(['quiet'])
      expect(t.get('busy')).toBe(busy)
    } finally {
      vi.useRealTimers()
    }
  })

  it('at the cap evicts the least recently used flow the policy allows', () => {
    const t = new FlowTable<string, F>({ maxFlows: 3, idleMs: 1000 })
    t.add('a', flow('a', true), 1)
    t.add('b', flow('b'), 2)
    t.add('c', flow('c'), 3)
    expect(t.full).toBe(true)
    const r = t.add('d', flow('d'), 4, (f) => f.precious !== true)
    expect(r).toEqual({ added: true, evicted: expect.objectContaining({ name: 'b' }) })
    expect([...t.values()].map((f) => f.name)).toEqual(['a', 'c', 'd'])
    // Plain LRU (no policy) takes the oldest.
    expect(t.add('e', flow('e'), 5).evicted?.name).toBe('a')
  })

  it('refuses a new flow when no flow near the LRU end may be evicted', () => {
    const t = new FlowTable<string, F>({ maxFlows: EVICT_SCAN_LIMIT + 10, idleMs: 1000 })
    for (let i = 0; i < EVICT_SCAN_LIMIT; i++) t.add(`p${i}`, flow(`p${i}`, true), i)
    for (let i = 0; i < 10; i++) t.add(`x${i}`, flow(`x${i}`), 100 + i)
    // Only the 64 oldest are looked at, and all of them are protected.
    expect(t.add('new', flow('new'), 200, (f) => f.precious !== true)).toEqual({ added: false, evicted: undefined })
    expect(t.size).toBe(EVICT_SCAN_LIMIT + 10)
    expect(t.get('new')).toBeUndefined()
  })

  it('protects established conversations (datagrams both ways, twice or more) from eviction', () => {
    const t = newFlowTally()
    expect(isEstablished(t)).toBe(false)
    Object.assign(t, { datagramsIn: 1, datagramsOut: 1 })
    expect(isEstablished(t)).toBe(false) // a DNS query and its answer: may be evicted
    Object.assign(t, { datagramsIn: 2, datagramsOut: 2 })
    expect(isEstablished(t)).toBe(true)
  })

  it('sweeps often enough for short timeouts and rarely for long ones', () => {
    expect(sweepIntervalMs(1000)).toBe(250)
    expect(sweepIntervalMs(120_000)).toBe(5000)
    expect(sweepIntervalMs(100)).toBe(100)
  })
})

describe('flow ids', () => {
  it('are even for the relay and odd for the client, never 0, and skip ids in use', () => {
    expect(nextFlowId(0, 'server', () => false)).toBe(2)
    expect(nextFlowId(2, 'server', () => false)).toBe(4)
    expect(nextFlowId(0, 'client', () => false)).toBe(1)
    const used = new Set([4, 6])
    expect(nextFlowId(2, 'server', (id) => used.has(id))).toBe(8)
  })

  it('wrap around at the top of the u32 range', () => {
    expect(nextFlowId(MAX_FLOW_ID - 1, 'server', () => false)).toBe(2)
    expect(nextFlowId(MAX_FLOW_ID, 'client', () => false)).toBe(1)
    expect(nextFlowId(MAX_FLOW_ID - 1, 'server', (id) => id === 2)).toBe(4)
  })

  it('allocates distinct ids for many flows of one session', () => {
    const inUse = new Set<number>()
    let last = 0
    for (let i = 0; i < 10_000; i++) {
      last = nextFlowId(last, 'server', (id) => inUse.has(id))
      expect(inUse.has(last)).toBe(false)
      inUse.add(last)
    }
    expect(inUse.size).toBe(10_000)
  })

  it('fails loudly instead of looping forever when every id is taken', () => {
    expect(() => nextFlowId(0, 'server', () => true, 1000)).toThrow(RangeError)
  })
})

describe('udp flow table by source', () => {
  interface S { src: string, name: string, lastSeen: number, precious: boolean }
  const sflow = (src: string, name: string, precious = true): S => ({ src, name, lastSeen: 0, precious })
  const keep = (f: S): boolean => !f.precious
  const table = (maxFlows: number, maxPerSource = 0, pressureIdleMs?: number): FlowTable<string, S> =>
    new FlowTable<string, S>({ maxFlows, idleMs: 120_000, sourceOf: (f) => f.src, maxPerSource, ...(pressureIdleMs === undefined ? {} : { pressureIdleMs }) })

  it('refuses a source past maxPerSource while its flows are all worth keeping, and others still get in', () => {
    const t = table(100, 3)
    for (let i = 0; i < 3; i++) expect(t.add(`a${i}`, sflow('A', `a${i}`), i, keep).added).toBe(true)
    expect(t.add('a3', sflow('A', 'a3'), 10, keep)).toEqual({ added: false, evicted: undefined, sourceFull: true })
    expect(t.countOf('A')).toBe(3)
    expect(t.add('b0', sflow('B', 'b0'), 11, keep).added).toBe(true)
  })

  it('lets a source at its cap replace its own oldest flow when that one never got a reply', () => {
    const t = table(100, 2)
    t.add('a0', sflow('A', 'a0', false), 0, keep)
    t.add('a1', sflow('A', 'a1'), 1, keep)
    expect(t.add('a2', sflow('A', 'a2'), 2, keep)).toEqual({ added: true, evicted: expect.objectContaining({ name: 'a0' }) })
    expect(t.countOf('A')).toBe(2)
  })

  it('when full of one source\'s conversations makes room for another source from the busiest one, least recently used first', () => {
    const t = table(4)
    for (let i = 0; i < 4; i++) t.add(`a${i}`, sflow('A', `a${i}`), i, keep)
    const a0 = t.get('a0') as S
    t.touch('a0', a0, 10) // a1 is now A's least recently used
    const r = t.add('b0', sflow('B', 'b0'), 11, keep)
    expect(r.evicted?.name).toBe('a1')
    expect(t.countOf('A')).toBe(3)
    expect(t.countOf('B')).toBe(1)
    // B keeps taking from A until they are even, then no more: no ping-pong between equals.
    expect(t.add('b1', sflow('B', 'b1'), 12, keep).evicted?.src).toBe('A')
    expect(t.add('b2', sflow('B', 'b2'), 13, keep)).toEqual({ added: false, evicted: undefined })
    expect([t.countOf('A'), t.countOf('B')]).toEqual([2, 2])
  })

  it('under pressure takes the least recently used flow once it has been idle long enough', () => {
    const t = table(2, 0, 30_000)
    t.add('a0', sflow('A', 'a0'), 0, keep)
    t.add('b0', sflow('B', 'b0'), 1, keep)
    expect(t.add('c0', sflow('C', 'c0'), 29_999, keep).added).toBe(false)
    expect(t.add('c0', sflow('C', 'c0'), 30_000, keep).evicted?.name).toBe('a0')
  })

  it('keeps its per-source counts right through touch, delete, expiry and clear', () => {
    const t = table(10, 0)
    for (let i = 0; i < 5; i++) t.add(`a${i}`, sflow('A', `a${i}`), i)
    t.add('b0', sflow('B', 'b0'), 5)
    t.touch('a2', t.get('a2') as S, 200_000)
    t.delete('a0')
    expect(t.countOf('A')).toBe(4)
    expect(t.expire(120_004).map(([k]) => k)).toEqual(['a1', 'a3', 'a4'])
    expect([t.countOf('A'), t.countOf('B'), t.sources]).toEqual([1, 1, 2])
    t.clear()
    expect(t.sources).toBe(0)
    // After a clear the busiest-source bookkeeping starts from nothing.
    const u = table(2)
    u.add('x', sflow('X', 'x'), 0, keep)
    u.add('y', sflow('X', 'y'), 0, keep)
    expect(u.add('z', sflow('Z', 'z'), 1, keep).evicted?.src).toBe('X')
  })
})
