// Refuses a visit proof seen before (pure; the clock is injected). A proof is fresh when its
// timestamp is within `windowMs` of now and its nonce is not remembered. Only proofs that
// verified are remembered (so nobody without the secret can fill the table), at most
// `maxEntries`: when full, the oldest remembered one is forgotten and its timestamp becomes a
// floor, and a proof not newer than the floor is refused as a replay (expired ones raise it too). The table is bounded in
// size and time and a replay is never accepted; the price of a flood of honest visits is only
// that a visitor whose clock lags far behind the others is refused until the flood passes.

/** Proofs remembered at most, per table (nonces of 16 bytes: a few MiB at most). */
export const MAX_VISIT_REPLAY_ENTRIES = 65_536

export type ReplayVerdict = 'fresh' | 'stale' | 'replay'

export interface ReplayWindowOptions {
  /** How far a proof's timestamp may be from now, either way, in ms. */
  windowMs: number
  maxEntries?: number
  /** Wall clock in ms since the epoch (tests inject one); default Date.now. */
  now?: () => number
}

export class ReplayWindow {
  readonly #windowMs: number
  readonly #max: number
  readonly #now: () => number
  /** nonce (hex) → timestamp, in the order they were remembered. */
  readonly #seen = new Map<string, number>()
  /** The largest timestamp forgotten to make room: nothing at or before it is accepted. */
  #floor = -Infinity
  /** Proofs forgotten to make room (not counting expired ones). */
  evicted = 0

  constructor (options: ReplayWindowOptions) {
    this.#windowMs = options.windowMs
    this.#max = options.maxEntries ?? MAX_VISIT_REPLAY_ENTRIES
    this.#now = options.now ?? Date.now
  }

  get size (): number { return this.#seen.size }

  /** Whether a proof with this nonce and timestamp may be accepted (remember() it once it verified). */
  check (nonce: Buffer, timestampMs: number): ReplayVerdict {
    if (Math.abs(this.#now() - timestampMs) > this.#windowMs) return 'stale'
    if (timestampMs <= this.#floor || this.#seen.has(nonce.toString('hex'))) return 'replay'
    return 'fresh'
  }

  /** Remembers a verified proof until it is stale anyway. */
  remember (nonce: Buffer, timestampMs: number): void {
    this.#expire()
    while (this.#seen.size >= this.#max) {
      const first = this.#seen.entries().next()
      if (first.done === true) break
      const [key, ts] = first.value
      this.#seen.delete(key)
      this.#floor = Math.max(this.#floor, ts)
      this.evicted++
    }
    this.#seen.set(nonce.toString('hex'), timestampMs)
  }

  /**
   * Drops proofs from the front that check() would call stale now (their order is roughly their
   * age). They raise the floor too, so a wall clock stepped back cannot make them fresh again.
   */
  #expire (): void {
    const oldest = this.#now() - this.#windowMs
    for (const [key, ts] of this.#seen) {
      if (ts >= oldest) break
      this.#seen.delete(key)
      this.#floor = Math.max(this.#floor, ts)
    }
  }
}
