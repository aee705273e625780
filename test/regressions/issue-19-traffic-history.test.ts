// The traffic history behind the dashboards' charts (shared/admin/history.ts), on an injected
// clock and counters: bytes per interval per proxy, restarts of counters, proxies that come and
// go, and every bound (samples kept, proxies followed).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TrafficHistory, type ProxyCounters } from '../../shared/admin/index.js'

afterEach(() => { vi.useRealTimers() })

function harness (options: { samples?: number, maxProxies?: number } = {}): { h: TrafficHistory, set: (name: string, bytesIn: number, bytesOut?: number) => void, drop: (name: string) => void, tick: (ms?: number) => void } {
  let now = 1_000_000
  const counters = new Map<string, ProxyCounters>()
  const h = new TrafficHistory(() => [...counters.values()], { intervalMs: 10_000, now: () => now, ...options })
  return {
    h,
    set: (name, bytesIn, bytesOut = 0) => { counters.set(name, { name, type: 'tcp', bytesIn, bytesOut }) },
    drop: (name) => { counters.delete(name) },
    tick: (ms = 10_000) => { now += ms },
  }
}

describe('traffic history (issue 19)', () => {
  it('keeps the bytes of each interval per proxy, counting from the baseline taken at start', () => {
    const { h, set, tick } = harness()
    set('web', 500, 100)
    h.start()
    h.stop()
    tick(); set('web', 1_500, 300); h.sample()
    tick(); set('web', 1_500, 300); h.sample()
    tick(); set('web', 4_500, 1_300); h.sample()
    const r = h.report()
    expect(r.t).toHaveLength(3)
    expect(r.proxies).toEqual([{ name: 'web', type: 'tcp', bytesIn: [1_000, 0, 3_000], bytesOut: [200, 0, 1_000], current: { bytesIn: 0, bytesOut: 0 } }])
  })

  it('shows the bytes since the last sample as the moving tip, and follows a new proxy at once', () => {
    const { h, set, tick } = harness()
    h.sample()
    set('fresh', 2_048, 10)
    tick(4_000)
    const r = h.report()
    expect(r.proxies.find((p) => p.name === 'fresh')?.current).toEqual({ bytesIn: 2_048, bytesOut: 10 })
    expect(r.now - r.lastSampleAt).toBe(4_000)
    set('fresh', 3_048, 10)
    tick(6_000); h.sample()
    // Everything it carried before its first sample belongs to that interval.
    expect(h.report().proxies.find((p) => p.name === 'fresh')?.bytesIn.at(-1)).toBe(3_048)
  })

  it('counts a counter that went down (the proxy was registered again) from zero', () => {
    const { h, set, tick } = harness()
    set('web', 10_000)
    h.sample()
    tick(); set('web', 700); h.sample()
    expect(h.report().proxies[0]?.bytesIn.at(-1)).toBe(700)
  })

  it('marks intervals a proxy was absent as gaps and forgets it after a whole ring', () => {
    const { h, set, drop, tick } = harness({ samples: 4 })
    set('a', 0); set('b', 0)
    h.sample()
    drop('b')
    tick(); h.sample()
    expect(h.report().proxies.find((p) => p.name === 'b')?.bytesIn).toEqual([0, null])
    for (let i = 0; i < 4; i++) { tick(); h.sample() }
    expect(h.report().proxies.map((p) => p.name)).toEqual(['a'])
  })

  it('keeps at most its number of samples and answers only those after `since`', () => {
    const { h, set, tick } = harness({ samples: 5 })
    set('a', 0)
    for (let i = 1; i <= 12; i++) { tick(); set('a', i * 100); h.sample() }
    const all = h.report()
    expect(all.t).toHaveLength(5)
    expect(all.proxies[0]?.bytesIn).toEqual([100, 100, 100, 100, 100])
    const since = all.t[2] ?? 0
    expect(h.report(since).t).toEqual(all.t.slice(3))
    expect(h.report(all.t.at(-1)).t).toEqual([])
  })

  it('follows at most maxProxies proxies and counts the others as untracked', () => {
    const { h, set, tick } = harness({ maxProxies: 3 })
    for (let i = 0; i < 5; i++) set(`p${i}`, 0)
    tick(); h.sample()
    const r = h.report()
    expect(r.proxies).toHaveLength(3)
    expect(r.untracked).toBe(2)
  })

  it('samples on its own timer every interval once started, and stops', () => {
    vi.useFakeTimers()
    const h = new TrafficHistory(() => [{ name: 'a', type: 'udp', bytesIn: 0, bytesOut: 0 }], { intervalMs: 10_000 })
    h.start()
    vi.advanceTimersByTime(35_000)
    expect(h.report().t).toHaveLength(3)
    h.stop()
    vi.advanceTimersByTime(60_000)
    expect(h.report().t).toHaveLength(3)
  })
})
