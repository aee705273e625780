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
