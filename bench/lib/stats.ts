// Order statistics for benchmark samples: median across repetitions, percentiles of latencies.

export interface Summary {
  median: number
  min: number
  max: number
  n: number
}

/** Nearest-rank percentile (p in 0..100) of values sorted ascending; NaN when empty. */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1))
  return sorted[index] ?? NaN
}

/** Median (mean of the middle two for an even count); NaN when empty. */
export function median (values: readonly number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  const hi = s[mid] ?? NaN
  return s.length % 2 === 1 ? hi : ((s[mid - 1] ?? NaN) + hi) / 2
}

export function summarize (values: readonly number[]): Summary {
  return {
    median: median(values),
    min: values.length === 0 ? NaN : Math.min(...values),
    max: values.length === 0 ? NaN : Math.max(...values),
    n: values.length,
  }
}

/** Sorts a latency buffer in place and returns its p50 and p99. */
export function latencyPercentiles (latencies: Float64Array): { p50: number, p99: number } {
  latencies.sort()
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}
