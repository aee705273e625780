// A token bucket in bytes, shared by every connection of one proxy and both directions (frp's
// transport.bandwidthLimit). Sources take what they moved and may go into debt by one chunk (a
// socket read is already in memory); while the bucket is in debt they pause, which stops reading
// from the socket or returning mux credit, so nothing queues beyond the flow-control windows.
// Datagrams, which cannot pause, pass only while the bucket is not in debt. The clock is
// injected for tests.

/** A tenth of a second's worth of bytes may pass at full speed after an idle spell. */
export const BURST_SECONDS = 0.1
/** The burst never drops below this, so tiny limits still let a whole frame through at once. */
export const MIN_BURST_BYTES = 16 * 1024

export interface TokenBucketStats {
  /** Bytes limit per second. */
  rate: number
  /** Bytes that went through (both directions, every connection). */
  bytes: number
  /** Times a source had to pause (or a datagram was dropped) because the bucket was in debt. */
  waits: number
}

export class TokenBucket {
  readonly rate: number
  readonly burst: number
  readonly #now: () => number
  #tokens: number
  #last: number
  #bytes = 0
  #waits = 0

  /** `rate` in bytes per second (> 0); `now` in milliseconds. */
  constructor (rate: number, options: { burst?: number, now?: () => number } = {}) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`token bucket rate must be a positive number, got ${rate}`)
    this.rate = rate
    this.burst = options.burst ?? Math.max(MIN_BURST_BYTES, Math.floor(rate * BURST_SECONDS))
    this.#now = options.now ?? (() => performance.now())
    this.#tokens = this.burst
    this.#last = this.#now()
  }

  get stats (): TokenBucketStats { return { rate: this.rate, bytes: this.#bytes, waits: this.#waits } }

  /** Tokens now (negative = debt), after refilling for the time that passed. */
  get tokens (): number {
    this.#refill()
    return this.#tokens
  }

  /**
   * Takes `bytes` (going into debt if needed). Returns the milliseconds the caller should pause
   * before moving more: 0 when the bucket is still not in debt.
   */
  charge (bytes: number): number {
    this.#refill()
    this.#tokens -= bytes
    this.#bytes += bytes
    const wait = this.delayMs()
    if (wait > 0) this.#waits++
    return wait
  }

  /** Milliseconds until the bucket is out of debt (0 when it is not in debt). */
  delayMs (): number {
    this.#refill()
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.rate) * 1000)
  }

  /** For a datagram: takes `bytes` unless the bucket is in debt (then false, and nothing is taken). */
  admit (bytes: number): boolean {
    this.#refill()
    if (this.#tokens < 0) { this.#waits++; return false }
    this.#tokens -= bytes
    this.#bytes += bytes
    return true
  }

  #refill (): void {
    const now = this.#now()
    const elapsed = now - this.#last
    this.#last = now
    if (elapsed <= 0) return
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.rate)
  }
}
