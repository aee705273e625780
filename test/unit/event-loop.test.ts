// The status report's event-loop delay: p99 and max in ms, from a pair of histograms that take
// turns every EVENT_LOOP_WINDOW_MS, so what a report shows covers the last one to two windows.
import { describe, expect, it } from 'vitest'
import { EVENT_LOOP_WINDOW_MS, eventLoopDelay } from '../../shared/admin/event-loop.js'
import { processFacts } from '../../shared/admin/process-facts.js'
import { statusReportSchema } from '../../shared/admin/status.js'
import { statusFixture } from '../helpers/status-fixture.js'

describe('event-loop delay', () => {
  it('reports p99 and max in ms, and keeps answering as the windows turn', () => {
    const t0 = 1_000_000
    for (const at of [t0, t0 + 1, t0 + EVENT_LOOP_WINDOW_MS, t0 + 2 * EVENT_LOOP_WINDOW_MS + 5]) {
      const d = eventLoopDelay(at)
      expect(d.p99Ms).toBeGreaterThanOrEqual(0)
      expect(d.maxMs).toBeGreaterThanOrEqual(d.p99Ms)
    }
  })

  it('is part of the process facts, and the status schema accepts it', async () => {
    const facts = await processFacts(Date.now())
    expect(facts.eventLoopDelayMs).toEqual({ p99Ms: expect.any(Number), maxMs: expect.any(Number) })
    expect(statusReportSchema.safeParse(statusFixture({ process: facts })).success).toBe(true)
  })
})
