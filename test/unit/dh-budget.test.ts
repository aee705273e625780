// The relay's budget of Diffie-Hellman work (issue 22, finding 8): a relay-wide bucket, and a
// reserve only sources that logged in recently may use, on an injected clock.
import { describe, expect, it } from 'vitest'
import { DhBudget, KNOWN_SOURCE_TTL_MS } from '../../server/dh-budget.js'

describe('DH budget', () => {
  it('admits the burst, then the rate per simulated second, relay-wide', () => {
    let now = 0
    const b = new DhBudget({ perSecond: 100, burst: 100, reservePerSecond: 0, now: () => now })
    let admitted = 0
    for (let i = 0; i < 1_000; i++) if (b.take(`10.${i % 250}.0.0/24`)) admitted++
    expect(admitted).toBe(100)
    for (let second = 1; second <= 5; second++) {
      now = second * 1000
      let n = 0
      for (let i = 0; i < 1_000; i++) if (b.take(`10.${i % 250}.0.0/24`)) n++
      expect(n).toBe(100)
    }
    expect(b.refused).toBe(6 * 900)
  })

  it('keeps a reserve for sources that logged in recently, so a flood of newcomers does not lock them out', () => {
    let now = 0
    const b = new DhBudget({ perSecond: 10, burst: 10, reservePerSecond: 5, now: () => now })
    b.noteLogin('192.0.2.0/24')
    for (let i = 0; i < 100; i++) b.take(`10.${i}.0.0/24`) // the flood empties the general bucket
    expect(b.take('10.200.0.0/24')).toBe(false) // a newcomer waits
    let known = 0
    for (let i = 0; i < 10; i++) if (b.take('192.0.2.0/24')) known++
    expect(known).toBe(5) // the reserve
    expect(b.fromReserve).toBe(5)
    now = KNOWN_SOURCE_TTL_MS + 1_000 // long after the login: no longer known
    for (let i = 0; i < 100; i++) b.take(`10.${i}.0.0/24`)
    expect(b.take('192.0.2.0/24')).toBe(false)
  })
})
