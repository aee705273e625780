// The bandwidth limiter's token bucket, on an injected clock: debt, refill, the burst cap, the
// datagram rule, and the long-run rate a pausing source gets.
import { describe, expect, it } from 'vitest'
import { MIN_BURST_BYTES, TokenBucket } from '../../shared/limit/token-bucket.js'

/** A clock the test moves by hand (milliseconds). */
function manualClock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('TokenBucket', () => {
  it('starts full: the burst passes at once, then a charge goes into debt and says how long to pause', () => {
    const clock = manualClock()
    const b = new TokenBucket(100_000, { burst: 10_000, now: clock.now })
    expect(b.charge(10_000)).toBe(0)
    expect(b.tokens).toBe(0)
    // 5,000 bytes of debt at 100,000 B/s = 50 ms.
    expect(b.charge(5_000)).toBe(50)
    expect(b.delayMs()).toBe(50)
    clock.advance(20)
    expect(b.delayMs()).toBe(30)
    clock.advance(30)
    expect(b.delayMs()).toBe(0)
    expect(b.stats).toEqual({ rate: 100_000, bytes: 15_000, waits: 1 })
  })

  it('refills with time, never above the burst', () => {
    const clock = manualClock()
    const b = new TokenBucket(1_000, { burst: 500, now: clock.now })
    b.charge(500)
    clock.advance(200)
    expect(b.tokens).toBeCloseTo(200)
    clock.advance(60_000)
    expect(b.tokens).toBe(500)
  })

  it('a clock that goes backwards adds nothing', () => {
    let t = 5_000
    const b = new TokenBucket(1_000, { burst: 1_000, now: () => t })
    b.charge(1_000)
    t = 4_000
    expect(b.tokens).toBe(0)
  })

  it('admits datagrams while not in debt (one may overdraw), and takes nothing for a refused one', () => {
    const clock = manualClock()
    const b = new TokenBucket(10_000, { burst: 1_500, now: clock.now })
    expect(b.admit(1_000)).toBe(true)
    expect(b.admit(1_000)).toBe(true) // 500 left: it passes and leaves 500 of debt
    expect(b.admit(10)).toBe(false)
    expect(b.tokens).toBe(-500)
    clock.advance(50) // +500
    expect(b.admit(10)).toBe(true)
    expect(b.stats.bytes).toBe(2_010)
    expect(b.stats.waits).toBe(1)
  })

  it('a source that pauses as told moves rate × time (+ the burst and one chunk) over a long run', () => {
    const clock = manualClock()
    const rate = 512 * 1024
    const b = new TokenBucket(rate, { now: clock.now })
    const chunk = 64 * 1024
    let moved = 0
    const start = clock.now()
    // A socket that reads a chunk whenever it is not paused: 10 simulated seconds.
    for (let i = 0; i < 100_000 && clock.now() - start < 10_000; i++) {
      const wait = b.charge(chunk)
      moved += chunk
      clock.advance(Math.max(wait, 1))
    }
    const expected = rate * 10
    expect(moved).toBeGreaterThanOrEqual(expected)
    expect(moved).toBeLessThanOrEqual(expected + b.burst + chunk)
  })

  it('a paced source moves exactly the rate in every simulated second once the burst is spent', () => {
    const clock = manualClock()
    const b = new TokenBucket(100_000, { burst: 10_000, now: clock.now })
    const start = clock.now()
    const perSecond = [0, 0, 0, 0, 0]
    let resumeAt = start
    // A source of 10,000-byte chunks that resumes exactly when told, on a 1 ms clock.
    for (let ms = 0; ms < 5_000; ms++, clock.advance(1)) {
      while (clock.now() >= resumeAt) {
        const s = Math.floor(ms / 1_000)
        perSecond[s] = (perSecond[s] ?? 0) + 10_000
        resumeAt = clock.now() + b.charge(10_000)
      }
    }
    expect(perSecond).toEqual([110_000, 100_000, 100_000, 100_000, 100_000])
  })

  it('two sources sharing one bucket get the rate between them, not each', () => {
    const clock = manualClock()
    const rate = 100_000
    const b = new TokenBucket(rate, { burst: 10_000, now: clock.now })
    const resumeAt = [clock.now(), clock.now()]
    const moved = [0, 0]
    const start = clock.now()
    for (let step = 0; step < 100_000 && clock.now() - start < 5_000; step++) {
      for (const i of [0, 1]) {
        if (clock.now() < (resumeAt[i] ?? 0)) continue
        moved[i] = (moved[i] ?? 0) + 8_192
        resumeAt[i] = clock.now() + b.charge(8_192)
      }
      clock.advance(1)
    }
    const total = (moved[0] ?? 0) + (moved[1] ?? 0)
    expect(total).toBeGreaterThanOrEqual(rate * 5)
    expect(total).toBeLessThanOrEqual(rate * 5 + 10_000 + 2 * 8_192)
    // Neither starves.
    expect(Math.min(moved[0] ?? 0, moved[1] ?? 0)).toBeGreaterThan(total / 4)
  })

  it('defaults the burst to a tenth of a second, at least MIN_BURST_BYTES; refuses a rate <= 0', () => {
    expect(new TokenBucket(10 * 1024 * 1024).burst).toBe(1024 * 1024)
    expect(new TokenBucket(1024).burst).toBe(MIN_BURST_BYTES)
    expect(() => new TokenBucket(0)).toThrow(RangeError)
    expect(() => new TokenBucket(-5)).toThrow(RangeError)
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError)
  })
})
