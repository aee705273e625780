// The relay's budget of Diffie-Hellman work (issue 22, finding 8). A hello that passes mac1 (so its
// sender knows the token) and the per-source limits costs the relay two X25519 operations; many
// token holders from many networks could still fill the CPU with them. So handshakes share one
// relay-wide token bucket, and a reserve that only sources which logged in recently may use: when
// a flood empties the general bucket, clients that were connected before (the usual case after a
// relay restart or a network blip) still get in, and newcomers are refused BUSY (they retry with
// backoff) until the flood ends. Pure bookkeeping with an injected clock.

/** Handshakes per second relay-wide (~2 X25519 each; about a third of a core on this machine kind). */
export const DH_PER_SECOND = 200
/** ... and their burst. */
export const DH_BURST = 200
/** The reserve for sources that logged in recently, per second (and burst). */
export const DH_RESERVE_PER_SECOND = 50
/** Source groups remembered as "logged in recently", least recent forgotten first. */
export const MAX_KNOWN_SOURCES = 16_384
/** How long a login keeps its source group known. */
export const KNOWN_SOURCE_TTL_MS = 15 * 60_000

class Bucket {
  #tokens: number
  #at: number
  constructor (readonly rate: number, readonly burst: number, now: number) {
    this.#tokens = burst
    this.#at = now
  }

  take (now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

export interface DhBudgetOptions {
  perSecond?: number
  burst?: number
  reservePerSecond?: number
  /** Monotonic milliseconds (tests inject one). */
  now?: () => number
}

export class DhBudget {
  readonly #general: Bucket
  readonly #reserve: Bucket
  readonly #known = new Map<string, number>()
  readonly #now: () => number
  /** Handshakes refused for want of budget, and those served from the reserve. */
  refused = 0
  fromReserve = 0
  /** Handshakes admitted to DH work. */
  admitted = 0

  constructor (options: DhBudgetOptions = {}) {
    this.#now = options.now ?? (() => performance.now())
    const now = this.#now()
    this.#general = new Bucket(options.perSecond ?? DH_PER_SECOND, options.burst ?? DH_BURST, now)
    const reserve = options.reservePerSecond ?? DH_RESERVE_PER_SECOND
    this.#reserve = new Bucket(reserve, reserve, now)
  }

  /** May a handshake from `source` (a source group) do its DH work now? */
  take (source: string): boolean {
    const now = this.#now()
    if (this.#general.take(now)) { this.admitted++; return true }
    if (this.#isKnown(source, now) && this.#reserve.take(now)) { this.admitted++; this.fromReserve++; return true }
    this.refused++
    return false
  }

  /** A session from `source` logged in: its group may use the reserve for a while. */
  noteLogin (source: string): void {
    this.#known.delete(source)
    this.#known.set(source, this.#now() + KNOWN_SOURCE_TTL_MS)
    if (this.#known.size > MAX_KNOWN_SOURCES) {
      const oldest = this.#known.keys().next()
      if (oldest.done !== true) this.#known.delete(oldest.value)
    }
  }

  #isKnown (source: string, now: number): boolean {
    const until = this.#known.get(source)
    return until !== undefined && until > now
  }
}
