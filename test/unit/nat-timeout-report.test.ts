import { describe, expect, it } from 'vitest'
import { checkSchedule, scheduleUpTo } from '../../client/nat-probe.js'
import { natTimeoutReport, recommendedHeartbeatS, renderNatTimeout, type ProbeResult } from '../../shared/diag/nat-timeout.js'

const probes = (alive: number[], dead: number[], other: ProbeResult[] = []): ProbeResult[] => [
  ...alive.map((idleS) => ({ idleS, outcome: 'alive' as const, detail: '' })),
  ...dead.map((idleS) => ({ idleS, outcome: 'dead' as const, detail: '' })),
  ...other,
]

describe('nat-timeout report', () => {
  it('brackets the timeout and names a heartbeat below it when the configured one is too long', () => {
    const r = natTimeoutReport(probes([1, 2, 3, 4], [5], [{ idleS: 6, outcome: 'cancelled', detail: '' }]), 10)
    expect(r).toMatchObject({ aliveUpToS: 4, deadFromS: 5, maxS: 6, heartbeatIntervalS: 10 })
    expect(r.findings).toHaveLength(1)
    expect(r.findings[0]).toMatchObject({ id: 'nat.heartbeat-too-long', severity: 'warn' })
    expect(r.findings[0]?.advice).toContain('transport.heartbeatInterval to 2 s')
    const text = renderNatTimeout(r)
    expect(text).toContain('timeout: between 4 s and 5 s')
    expect(text).toMatch(/idle\s+5 s\s+mapping gone/)
    expect(text).toMatch(/idle\s+6 s\s+not needed/)
  })

  it('says nothing needs changing when the heartbeat already fits', () => {
    const r = natTimeoutReport(probes([1, 2, 5, 10, 20, 25], [30]), 10)
    expect(r.findings[0]).toMatchObject({ id: 'nat.timeout', severity: 'info' })
  })

  it('treats heartbeats that are off as too long', () => {
    const r = natTimeoutReport(probes([1, 2, 5, 10, 20, 25], [30]), 0)
    expect(r.findings[0]).toMatchObject({ id: 'nat.heartbeat-too-long' })
    expect(r.findings[0]?.what).toContain('heartbeats are off')
  })

  it('reports a timeout above the longest idle time tried', () => {
    const r = natTimeoutReport(probes([1, 2, 3], []), 1)
    expect(r).toMatchObject({ aliveUpToS: 3, deadFromS: null })
    expect(r.findings[0]).toMatchObject({ id: 'nat.timeout-above-max', severity: 'info' })
    expect(renderNatTimeout(r)).toContain('timeout: above 3 s')
  })

  it('is an error when even the shortest idle time fails, and a warning when nothing was measured', () => {
    expect(natTimeoutReport(probes([], [1]), 10).findings[0]).toMatchObject({ id: 'nat.timeout-below-min', severity: 'error' })
    const none = natTimeoutReport([{ idleS: 1, outcome: 'failed', detail: 'refused' }], 10)
    expect(none).toMatchObject({ aliveUpToS: null, deadFromS: null })
    expect(none.findings[0]).toMatchObject({ id: 'nat.unmeasured', severity: 'warn' })
  })

  it('recommends half the longest surviving idle time, at least 1 s', () => {
    expect(recommendedHeartbeatS(1)).toBe(1)
    expect(recommendedHeartbeatS(5)).toBe(2)
    expect(recommendedHeartbeatS(300)).toBe(150)
  })
})

describe('nat-timeout schedule', () => {
  it('sorts, dedupes and bounds idle times', () => {
    expect(checkSchedule([5, 1, 5, 3])).toEqual([1, 3, 5])
    expect(() => checkSchedule([])).toThrow(/empty/)
    expect(() => checkSchedule([0])).toThrow(/idle time 0/)
    expect(() => checkSchedule([1.5])).toThrow(/idle time 1.5/)
    expect(() => checkSchedule([901])).toThrow(/idle time 901/)
    expect(scheduleUpTo(10)).toEqual([1, 2, 3, 4, 5, 6, 8, 10])
  })
})
