// Deploy gates: --max-error-rate and --max-p99-ms. Pure; the CLI exits 3 when any is exceeded.
import type { Thresholds } from './plan.js'

export interface ThresholdInput {
  errorRate: number
  /** Operations that finished (ok + failed). */
  finished: number
  latencySamples: number
  p99Ms: number
}

export interface ThresholdResult extends Thresholds {
  passed: boolean
  violations: string[]
}

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`

export function checkThresholds (t: Thresholds, r: ThresholdInput): ThresholdResult {
  const violations: string[] = []
  if (t.maxErrorRate !== null) {
    if (r.finished === 0) violations.push('no operation finished, so the error rate is unknown (--max-error-rate)')
    else if (r.errorRate > t.maxErrorRate) violations.push(`error rate ${pct(r.errorRate)} is above --max-error-rate ${pct(t.maxErrorRate)}`)
  }
  if (t.maxP99Ms !== null) {
    if (r.latencySamples === 0) violations.push('no successful operation, so p99 is unknown (--max-p99-ms)')
    else if (r.p99Ms > t.maxP99Ms) violations.push(`p99 latency ${r.p99Ms} ms is above --max-p99-ms ${t.maxP99Ms} ms`)
  }
  return { ...t, passed: violations.length === 0, violations }
}
