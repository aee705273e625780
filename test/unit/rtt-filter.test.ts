import { describe, expect, it } from 'vitest'
import { RTT_REFRESH_MS, RTT_SAMPLES, RttFilter } from '../../shared/mux/rtt-filter.js'

describe('RttFilter (the RTT window tuning goes by)', () => {
  it('is 0 and stale before the first sample', () => {
    const f = new RttFilter()
    expect(f.min).toBe(0)
    expect(f.stale(0)).toBe(true)
  })

  it('ignores one sample inflated by queueing', () => {
    const f = new RttFilter()
    f.add(40, 0); f.add(180, 300); f.add(41, 600)
    expect(f.min).toBe(40)
  })

  it('follows a path whose RTT grew once the old samples are out (a lifetime minimum would not)', () => {
    const f = new RttFilter()
    f.add(0.1, 0) // taken before the path changed
    for (let i = 1; i <= RTT_SAMPLES; i++) f.add(40 + i, i * 300)
    expect(f.min).toBe(41)
  })

  it('asks for a new probe only when the newest sample is old, and drops nonsense samples', () => {
    const f = new RttFilter()
    f.add(5, 1000)
    expect(f.stale(1000 + RTT_REFRESH_MS - 1)).toBe(false)
    expect(f.stale(1000 + RTT_REFRESH_MS)).toBe(true)
    f.add(Number.NaN, 2000); f.add(-1, 2000)
    expect(f.min).toBe(5)
    expect(f.stale(1000 + RTT_REFRESH_MS)).toBe(true)
  })
})
