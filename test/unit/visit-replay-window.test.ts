// The replay window of visit proofs, on an injected clock: a nonce is accepted once, a timestamp
// outside the window never, and the table stays bounded without ever accepting a replay.
import { describe, expect, it } from 'vitest'
import { ReplayWindow } from '../../shared/visit/index.js'

const nonce = (i: number): Buffer => Buffer.from(i.toString(16).padStart(32, '0'), 'hex')

describe('visit replay window', () => {
  it('accepts a nonce once and refuses it again, while fresh', () => {
    let now = 1_000_000
    const w = new ReplayWindow({ windowMs: 60_000, now: () => now })
    expect(w.check(nonce(1), now)).toBe('fresh')
    w.remember(nonce(1), now)
    expect(w.check(nonce(1), now)).toBe('replay')
    now += 30_000
    expect(w.check(nonce(1), now - 30_000)).toBe('replay')
    expect(w.check(nonce(2), now)).toBe('fresh')
  })

  it('refuses a timestamp outside the window either way', () => {
    const now = 1_000_000
    const w = new ReplayWindow({ windowMs: 60_000, now: () => now })
    expect(w.check(nonce(1), now - 60_001)).toBe('stale')
    expect(w.check(nonce(1), now + 60_001)).toBe('stale')
    expect(w.check(nonce(1), now + 60_000)).toBe('fresh')
  })

  it('keeps at most maxEntries and refuses, as replays, proofs no newer than the ones it forgot', () => {
    let now = 1_000_000
    const w = new ReplayWindow({ windowMs: 60_000, maxEntries: 100, now: () => now })
    for (let i = 0; i < 250; i++) {
      now += 1
      expect(w.check(nonce(i), now)).toBe('fresh')
      w.remember(nonce(i), now)
      expect(w.size).toBeLessThanOrEqual(100)
    }
    expect(w.evicted).toBe(150)
    // The first 150 were forgotten: replaying any of them is still refused.
    for (let i = 0; i < 150; i++) expect(w.check(nonce(i), 1_000_000 + i + 1)).toBe('replay')
    // A newer proof is still accepted.
    expect(w.check(nonce(999), now + 1)).toBe('fresh')
  })

  it('stays closed to old proofs when the wall clock steps back', () => {
    let now = 1_000_000
    const w = new ReplayWindow({ windowMs: 1_000, now: () => now })
    w.remember(nonce(1), now)
    now += 5_000
    w.remember(nonce(2), now) // expires the first one
    expect(w.size).toBe(1)
    now -= 5_000 // the clock is set back
    expect(w.check(nonce(1), 1_000_000)).toBe('replay')
  })
})
