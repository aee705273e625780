// What a client held stays reserved for it for a while after its session ends (issue 22, finding
// 5): a relay restart, a crash or a network blip must not let another tenant take its proxy names,
// public ports or domains in the moments before it reconnects. A reservation belongs to an
// identity (the client's key), lasts the grace period, and is dropped when the owner claims the
// thing again or when it expires. Bounded: past MAX_RESERVATIONS the oldest goes. Pure, clock injected.

/** Reservations at most (per kind of thing); the oldest goes first. */
export const MAX_RESERVATIONS = 65_536

export class Reservations<K> {
  /** Insertion order is expiry order (every reservation lasts the same grace). */
  readonly #map = new Map<K, { identity: string, until: number }>()
  readonly #graceMs: number
  readonly #now: () => number

  constructor (graceMs: number, now: () => number = () => performance.now()) {
    this.#graceMs = graceMs
    this.#now = now
  }

  get size (): number { this.#prune(); return this.#map.size }

  /** Keeps `key` for `identity` for the grace period (no-op with a grace of 0). */
  reserve (key: K, identity: string): void {
    if (this.#graceMs <= 0) return
    this.#map.delete(key)
    this.#map.set(key, { identity, until: this.#now() + this.#graceMs })
    while (this.#map.size > MAX_RESERVATIONS) {
      const oldest = this.#map.keys().next()
      if (oldest.done === true) break
      this.#map.delete(oldest.value)
    }
  }

  /** Milliseconds `key` stays reserved for someone other than `identity` (0 = free for it). */
  blockedFor (key: K, identity: string): number {
    this.#prune()
    const r = this.#map.get(key)
    if (r === undefined || r.identity === identity) return 0
    return Math.max(0, r.until - this.#now())
  }

  /** Its owner claimed it again (or it was given up on purpose). */
  clear (key: K): void { this.#map.delete(key) }

  #prune (): void {
    const now = this.#now()
    for (const [k, r] of this.#map) {
      if (r.until > now) break
      this.#map.delete(k)
    }
  }
}
