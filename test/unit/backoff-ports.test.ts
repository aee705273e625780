import { fc, test } from '@fast-check/vitest'
import { describe, expect, it, vi } from 'vitest'
import { backoffDelay, DEFAULT_BACKOFF, sleep } from '../../shared/backoff.js'
import { candidatePorts, describeRanges, isPortAllowed } from '../../server/proxy/ports.js'
import { nextWindow, MAX_STREAM_WINDOW_BYTES } from '../../shared/mux/window.js'

describe('backoff with full jitter', () => {
  test.prop([fc.nat(60), fc.double({ min: 0, max: 0.999999, noNaN: true })])('stays within [0, min(cap, base * 2^(n - fast)))', (n, r) => {
    const d = backoffDelay(n, { baseMs: 500, capMs: 30_000, fastRetries: 2 }, () => r)
    expect(d).toBeGreaterThanOrEqual(0)
    expect(d).toBeLessThan(Math.min(30_000, 500 * 2 ** Math.max(0, n - 2)))
  })

  it('keeps the base ceiling for the fast retries, then doubles up to the cap', () => {
    const top = (n: number): number => backoffDelay(n, DEFAULT_BACKOFF, () => 0.999999)
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(top)).toEqual([999, 999, 999, 999, 1999, 3999, 7999, 15999, 29999, 29999])
  })

  it('spreads clients over the whole window (full jitter)', () => {
    expect(backoffDelay(6, DEFAULT_BACKOFF, () => 0)).toBe(0)
    expect(backoffDelay(6, DEFAULT_BACKOFF, () => 0.5)).toBe(4000)
  })

  it('sleep resolves true after exactly its time, and false at once when aborted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      let done: boolean | undefined
      void sleep(1_000).then((r) => { done = r })
      await vi.advanceTimersByTimeAsync(999)
      expect(done).toBeUndefined()
      await vi.advanceTimersByTimeAsync(1)
      expect(done).toBe(true)
      const ac = new AbortController()
      const p = sleep(60_000, ac.signal)
      ac.abort()
      expect(await p).toBe(false)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('allowPorts', () => {
  const ranges = [{ start: 6000, end: 6100 }, { start: 5353, end: 5353 }]
  it('allows ports inside the ranges only', () => {
    expect(isPortAllowed(6000, ranges)).toBe(true)
    expect(isPortAllowed(6100, ranges)).toBe(true)
    expect(isPortAllowed(5353, ranges)).toBe(true)
    expect(isPortAllowed(6101, ranges)).toBe(false)
    expect(isPortAllowed(22, ranges)).toBe(false)
    expect(isPortAllowed(22, [])).toBe(true)
    expect(describeRanges(ranges)).toBe('6000-6100, 5353')
  })

  test.prop([fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 0, max: 50 })])('candidates for remotePort 0 lie in the ranges and skip excluded ports', (start, width) => {
    const r = [{ start, end: start + width }]
    const exclude = new Set([start])
    const c = candidatePorts(r, exclude, 8)
    for (const p of c) {
      expect(isPortAllowed(p, r)).toBe(true)
      expect(exclude.has(p)).toBe(false)
    }
    expect(new Set(c).size).toBe(c.length)
  })

  it('lets the OS choose when there are no ranges', () => {
    expect(candidatePorts([], new Set())).toEqual([0])
  })
})

describe('window auto-tuning', () => {
  it('doubles when half a window was consumed within a few RTTs, never past the cap', () => {
    expect(nextWindow(256 * 1024, 1, 10)).toBe(512 * 1024)
    expect(nextWindow(256 * 1024, 100, 10)).toBe(256 * 1024)
    expect(nextWindow(MAX_STREAM_WINDOW_BYTES, 0, 1)).toBe(MAX_STREAM_WINDOW_BYTES)
  })
})
