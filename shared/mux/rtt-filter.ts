// The RTT that window tuning uses: the smallest of the last few ping samples. A lifetime
// minimum would go stale when the path changes (a re-routed or newly congested link keeps the
// first, tiny sample forever, and windows then never grow); the last few samples follow such a
// change within a few probes while still ignoring one sample inflated by queueing.

/** Samples kept: the estimate follows a path change after this many probes. */
export const RTT_SAMPLES = 3
/** While streams are tuning, a new probe is due once the newest sample is this old. */
export const RTT_REFRESH_MS = 250

export class RttFilter {
  readonly #samples: number[] = []
  #newestAt = -Infinity

  add (rttMs: number, at: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return
    this.#samples.push(rttMs)
    if (this.#samples.length > RTT_SAMPLES) this.#samples.shift()
    this.#newestAt = at
  }

  /** The smallest recent sample in ms, or 0 before the first one. */
  get min (): number {
    return this.#samples.length === 0 ? 0 : Math.min(...this.#samples)
  }

  /** Is a fresh probe due (no sample yet, or the newest is older than RTT_REFRESH_MS)? */
  stale (now: number): boolean {
    return now - this.#newestAt >= RTT_REFRESH_MS
  }
}
