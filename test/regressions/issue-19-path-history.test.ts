// The client's path history (client/path-history.ts) on fake timers: it asks the relay only
// while somebody watches (a request, then every interval until the watch window ends), keeps a
// bounded ring, and turns a failed sample into a sample with its reason.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PathHistory, pathFigures } from '../../client/path-history.js'
import { TunnelError } from '../../shared/errors.js'

afterEach(() => { vi.useRealTimers() })

const figures = { relay: { mss: 1448, pathMtu: 1500, rttMs: 12, rttVarMs: 1, retransTotal: 3, bytesRetrans: 4344, cwnd: 10 }, pingMs: 13, error: null }

describe('path history (issue 19)', () => {
  it('samples at the first request, every interval while watched, and not at all once nobody asks', async () => {
    vi.useFakeTimers()
    let calls = 0
    const h = new PathHistory(async () => { calls++; return await Promise.resolve(figures) }, { intervalMs: 10_000, watchMs: 60_000 })
    expect(calls).toBe(0)
    const first = await h.report()
    expect(calls).toBe(1)
    expect(first.samples).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(30_000)
    expect(calls).toBe(4)
    // No request for a whole watch window: sampling stops there, and stays stopped.
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    const stopped = calls
    expect(stopped).toBeLessThanOrEqual(1 + 60_000 / 10_000)
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(calls).toBe(stopped)
    // The next request starts it again.
    await h.report()
    expect(calls).toBe(stopped + 1)
    h.stop()
  })

  it('keeps at most its number of samples', async () => {
    vi.useFakeTimers()
    const h = new PathHistory(async () => await Promise.resolve(figures), { intervalMs: 1_000, watchMs: 1_000_000, samples: 5 })
    await h.report()
    await vi.advanceTimersByTimeAsync(20_000)
    expect((await h.report()).samples).toHaveLength(5)
    h.stop()
  })

  it('a sample that fails is kept with its reason', async () => {
    const h = new PathHistory(async () => { throw new Error('relay gone') })
    const r = await h.report()
    expect(r.samples[0]).toMatchObject({ relay: null, pingMs: null, error: 'relay gone' })
    h.stop()
  })

  it('reads the figures of the relay\'s first control connection, or says why there are none', () => {
    expect(pathFigures(new TunnelError('TUN_SESSION_CLOSED', 'not connected to the relay'))).toEqual({ relay: null, error: 'not connected to the relay (TUN_SESSION_CLOSED)' })
    expect(pathFigures({ control: [], findings: [], unavailable: [{ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: 'no ss' }] })).toEqual({ relay: null, error: 'no ss' })
  })
})
