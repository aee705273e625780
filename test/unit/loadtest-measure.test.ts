import { describe, expect, it } from 'vitest'
import { classifyError, emptyErrorCounts, totalErrors } from '../../loadtest/error-kinds.js'
import { LatencyHistogram } from '../../loadtest/histogram.js'
import { RunState } from '../../loadtest/run-state.js'
import { checkThresholds } from '../../loadtest/thresholds.js'
import { readHeader, SequenceTracker, writeHeader } from '../../loadtest/udp-payload.js'

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code })

describe('latency histogram', () => {
  it('gives percentiles of a known distribution within HDR\'s 3-digit precision', () => {
    const h = new LatencyHistogram()
    for (let ms = 1; ms <= 1000; ms++) h.record(ms * 1000) // 1..1000 ms, in µs
    const s = h.summary()
    expect(s.count).toBe(1000)
    expect(s.min).toBe(1)
    expect(s.p50).toBeCloseTo(500, -0.3)
    expect(s.p90).toBeCloseTo(900, -0.3)
    expect(s.p99).toBeCloseTo(990, -0.3)
    expect(s.p99_9).toBeCloseTo(999, -0.3)
    expect(s.max).toBeCloseTo(1000, -0.3)
    expect(s.mean).toBeCloseTo(500.5, 0)
  })

  it('is all zeros when empty and clamps values outside 1 µs .. 1 h', () => {
    const h = new LatencyHistogram()
    expect(h.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, max: 0 })
    h.record(-5)
    h.record(1e15)
    expect(h.summary().min).toBe(0.001)
    expect(h.summary().max).toBeGreaterThanOrEqual(3_600_000 * 0.999)
  })
})

describe('error kinds', () => {
  it('classifies socket errors by errno code', () => {
    expect(classifyError(errno('ECONNREFUSED'))).toBe('refused')
    expect(classifyError(errno('ECONNRESET'))).toBe('reset')
    expect(classifyError(errno('EPIPE'))).toBe('reset')
    expect(classifyError(errno('ETIMEDOUT'))).toBe('timeout')
    expect(classifyError(errno('EADDRNOTAVAIL'))).toBe('local')
    expect(classifyError(errno('EMFILE'))).toBe('local')
    expect(classifyError(errno('EHOSTUNREACH'))).toBe('other')
    expect(classifyError(new Error('no code'))).toBe('other')
    expect(classifyError(null)).toBe('other')
    const c = emptyErrorCounts()
    c.reset = 2
    c.other = 1
    expect(totalErrors(c)).toBe(3)
  })
})

describe('run state', () => {
  it('stops handing out operations at the count bound and lets those in flight finish', () => {
    const s = new RunState({ durationMs: 60_000, maxOps: 3, rate: null, tail: 'abandon' })
    expect([s.claim()?.index, s.claim()?.index, s.claim()?.index, s.claim()]).toEqual([0, 1, 2, undefined])
    expect(s.stopReason).toBe('count')
    expect(s.signal.aborted).toBe(false)
    s.succeed(1000)
    s.finish()
    expect(s.ok).toBe(1)
    expect(s.abandoned).toBe(2)
    s.succeed(1000) // after the window: not counted
    expect(s.ok).toBe(1)
  })

  it('schedules open-loop operations at start + k / rate, and stops before the deadline', () => {
    const s = new RunState({ durationMs: 1_000, maxOps: 1_000, rate: 4, tail: 'abandon' })
    const due = [s.claim(), s.claim(), s.claim(), s.claim(), s.claim()].map((c) => c === undefined ? undefined : Math.round(c.dueAt - s.startedAt))
    expect(due).toEqual([0, 250, 500, 750, undefined])
    expect(s.stopReason).toBe('duration')
    expect(s.signal.aborted).toBe(true)
    s.finish()
  })

  it('with tail "finish" keeps counting after the duration until finish()', () => {
    const s = new RunState({ durationMs: 60_000, maxOps: 10, rate: null, tail: 'finish' })
    s.claim()
    s.stop('duration')
    expect(s.signal.aborted).toBe(false)
    s.succeed(undefined)
    s.finish()
    expect(s.ok).toBe(1)
    expect(s.stopReason).toBe('duration')
  })
})

describe('thresholds', () => {
  const none = { maxErrorRate: null, maxP99Ms: null }
  it('pass without limits, and fail each limit with a sentence naming its flag', () => {
    expect(checkThresholds(none, { errorRate: 1, finished: 10, latencySamples: 0, p99Ms: 0 }).passed).toBe(true)
    const r = checkThresholds({ maxErrorRate: 0.01, maxP99Ms: 50 }, { errorRate: 0.02, finished: 100, latencySamples: 98, p99Ms: 51 })
    expect(r.passed).toBe(false)
    expect(r.violations).toHaveLength(2)
    expect(r.violations[0]).toContain('--max-error-rate')
    expect(r.violations[1]).toContain('--max-p99-ms')
    expect(checkThresholds({ maxErrorRate: 0.01, maxP99Ms: 50 }, { errorRate: 0.01, finished: 100, latencySamples: 99, p99Ms: 50 }).passed).toBe(true)
    expect(checkThresholds({ maxErrorRate: null, maxP99Ms: 50 }, { errorRate: 0, finished: 0, latencySamples: 0, p99Ms: 0 }).passed).toBe(false)
  })
})

describe('udp payload', () => {
  it('round-trips the header and ignores datagrams of other runs or too short', () => {
    const buf = Buffer.alloc(64)
    writeHeader(buf, { runId: 0xdeadbeef, seq: 123_456, flow: 7, sentAtMs: 1234.5678 })
    expect(readHeader(buf, 0xdeadbeef)).toEqual({ runId: 0xdeadbeef, seq: 123_456, flow: 7, sentAtMs: 1234.5678 })
    expect(readHeader(buf, 1)).toBeUndefined()
    expect(readHeader(buf.subarray(0, 20), 0xdeadbeef)).toBeUndefined()
  })

  it('counts distinct arrivals, duplicates, per-flow reordering and sequence numbers never sent', () => {
    const t = new SequenceTracker(100, 2)
    const sent = 10
    for (const [seq, flow] of [[0, 0], [2, 0], [1, 0], [2, 0], [3, 1], [5, 1], [4, 1], [50, 0]] as const) t.record(seq, flow, sent)
    expect(t.counts).toEqual({ received: 6, duplicates: 1, reordered: 2, invalid: 1 })
  })
})
