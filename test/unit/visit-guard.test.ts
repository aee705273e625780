// What one visitor session may do, on an injected clock: a burst of failed visits, then one a
// second; while the budget is spent, visits are refused unchecked; a cap on open visits.
import { describe, expect, it } from 'vitest'
import { MAX_VISITS_PER_SESSION, VISIT_FAILURE_BURST, VISIT_FAILURE_REFILL_PER_S, VisitGuard } from '../../server/visit/index.js'

describe('visit guard', () => {
  it('allows a burst of failed visits, then limits the session until its budget refills', () => {
    let now = 0
    const g = new VisitGuard({ now: () => now })
    for (let i = 0; i < VISIT_FAILURE_BURST; i++) {
      expect(g.limited).toBe(false)
      g.failed()
    }
    expect(g.limited).toBe(true)
    now += 1000 / VISIT_FAILURE_REFILL_PER_S / 2
    expect(g.limited).toBe(true)
    now += 1000 / VISIT_FAILURE_REFILL_PER_S / 2
    expect(g.limited).toBe(false)
    g.failed()
    expect(g.limited).toBe(true)
  })

  it('bounds guessing to the refill rate: 60 s of failures buy at most burst + 60 guesses', () => {
    let now = 0
    const g = new VisitGuard({ now: () => now })
    let checked = 0
    for (let tick = 0; tick < 60_000; tick += 10) {
      now = tick
      if (g.limited) continue
      checked++
      g.failed()
    }
    expect(checked).toBeLessThanOrEqual(VISIT_FAILURE_BURST + 60 * VISIT_FAILURE_REFILL_PER_S)
  })

  it('is full at its cap of open visits', () => {
    const g = new VisitGuard({ maxActive: 2 })
    expect(g.full).toBe(false)
    g.active = 2
    expect(g.full).toBe(true)
    expect(MAX_VISITS_PER_SESSION).toBe(1024)
  })
})
