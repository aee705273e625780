// Latency histogram: HdrHistogram (hdr-histogram-js) in whole microseconds at three significant
// digits, summarised in milliseconds. Constant memory whatever the number of samples.
import * as hdr from 'hdr-histogram-js'
import { MAX_RECORDED_US } from './limits.js'

/** Percentiles of a latency distribution, in milliseconds (null fields never: count 0 → zeros). */
export interface LatencySummary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  p99_9: number
  max: number
}

const US_PER_MS = 1_000

/** One point of a percentile curve: the latency (ms) at `percentile` (0-100). */
export interface PercentilePoint {
  percentile: number
  ms: number
}

/** Points per halving of the distance to 100 % (HdrHistogram's usual "ticks per half distance"). */
export const CURVE_TICKS_PER_HALF = 5
/** Points of a curve at most: enough to reach 99.9999 %. */
export const MAX_CURVE_POINTS = 110

export class LatencyHistogram {
  readonly #h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_RECORDED_US, numberOfSignificantValueDigits: 3, autoResize: false })

  /** Records one latency in microseconds (fractions rounded; clamped to 1 µs .. 1 h). */
  record (us: number): void {
    const v = Math.min(MAX_RECORDED_US, Math.max(1, Math.round(us)))
    this.#h.recordValue(v)
  }

  get count (): number { return this.#h.totalCount }

  /** The latency at `percentile` (0-100), in milliseconds; 0 when empty. */
  percentileMs (percentile: number): number {
    return this.count === 0 ? 0 : this.#h.getValueAtPercentile(percentile) / US_PER_MS
  }

  /** Forgets every sample (the per-interval histogram of the timeline). */
  reset (): void { this.#h.reset() }

  /**
   * The percentile distribution as HdrHistogram plots it: percentiles closing in on 100 % by
   * halving the distance every CURVE_TICKS_PER_HALF points (50, 75, 87.5, ...), as far as the
   * sample count resolves, then the maximum at 100. Empty when there are no samples.
   */
  percentileCurve (): PercentilePoint[] {
    const n = this.count
    if (n === 0) return []
    const max = this.#h.maxValue
    const out: PercentilePoint[] = []
    for (let i = 0; i < MAX_CURVE_POINTS; i++) {
      const p = 100 * (1 - 1 / 2 ** (i / CURVE_TICKS_PER_HALF))
      // Beyond 1 - 1/n every percentile is the maximum.
      if (p / 100 > 1 - 1 / n) break
      out.push({ percentile: p, ms: Math.min(max, this.#h.getValueAtPercentile(p)) / US_PER_MS })
    }
    out.push({ percentile: 100, ms: max / US_PER_MS })
    return out
  }

  summary (): LatencySummary {
    if (this.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, max: 0 }
    const max = this.#h.maxValue
    const ms = (us: number): number => Math.round(us) / US_PER_MS
    // A percentile is the top of its bucket, which can lie above the largest value recorded.
    const at = (p: number): number => ms(Math.min(max, this.#h.getValueAtPercentile(p)))
    return {
      count: this.count,
      min: ms(this.#h.minNonZeroValue),
      mean: ms(this.#h.mean),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p99_9: at(99.9),
      max: ms(max),
    }
  }
}
