// The relay's replay defences for message 1, with an injected clock (milliseconds):
// - a bounded cache of ephemeral keys seen in handshakes that authenticated, checked before any
//   Diffie-Hellman step; an entry lives for the whole freshness window (2 × maxSkew);
// - a freshness window on the client's timestamp (|relay clock − timestamp| ≤ maxSkew);
// - WireGuard's rule: a client id's timestamp must be strictly newer than its last accepted one.
// None of them is the last line: a session becomes active only after the client's first
// transport record decrypts, which a replayer cannot produce (no ephemeral private key).

export const DEFAULT_MAX_EPHEMERALS = 65_536
export const DEFAULT_MAX_CLIENTS = 65_536

export interface ReplayGuardOptions {
  maxSkewMs: number
  /** Bound of the ephemeral-key cache; the oldest entry goes when it is full. */
  maxEphemerals?: number
  /** Bound of the per-client timestamp table; the least recently updated goes. */
  maxClients?: number
}

export type Freshness = 'ok' | 'stale' | 'future'

export class ReplayGuard {
  readonly maxSkewMs: number
  readonly #maxEphemerals: number
  readonly #maxClients: number
  /** Key (hex) → time it may be forgotten. Insertion order is time order. */
  readonly #ephemerals = new Map<string, number>()
  readonly #latest = new Map<string, number>()
  /** Entries pushed out by the size bounds (not by age). */
  evicted = 0

  constructor (options: ReplayGuardOptions) {
    this.maxSkewMs = options.maxSkewMs
    this.#maxEphemerals = options.maxEphemerals ?? DEFAULT_MAX_EPHEMERALS
    this.#maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS
  }

  get size (): number { return this.#ephemerals.size }

  /** True when this ephemeral key authenticated a handshake within the window. */
  seen (ephemeral: Uint8Array, nowMs: number): boolean {
    this.#prune(nowMs)
    return this.#ephemerals.has(Buffer.from(ephemeral).toString('hex'))
  }

  /** Records an ephemeral key of a handshake that authenticated. */
  remember (ephemeral: Uint8Array, nowMs: number): void {
    this.#prune(nowMs)
    const key = Buffer.from(ephemeral).toString('hex')
    this.#ephemerals.delete(key)
    this.#ephemerals.set(key, nowMs + 2 * this.maxSkewMs)
    while (this.#ephemerals.size > this.#maxEphemerals) {
      const oldest = this.#ephemerals.keys().next()
      if (oldest.done === true) break
      this.#ephemerals.delete(oldest.value)
      this.evicted++
    }
  }

  freshness (timestampMs: number, nowMs: number): Freshness {
    if (timestampMs < nowMs - this.maxSkewMs) return 'stale'
    if (timestampMs > nowMs + this.maxSkewMs) return 'future'
    return 'ok'
  }

  /** WireGuard's rule: strictly newer than the last accepted login of this client id. */
  isNewer (clientId: string, timestampMs: number): boolean {
    const last = this.#latest.get(clientId)
    return last === undefined || timestampMs > last
  }

  /** Called when a session is activated (after key confirmation). */
  commit (clientId: string, timestampMs: number): void {
    const last = this.#latest.get(clientId)
    this.#latest.delete(clientId)
    this.#latest.set(clientId, last === undefined ? timestampMs : Math.max(last, timestampMs))
    while (this.#latest.size > this.#maxClients) {
      const oldest = this.#latest.keys().next()
      if (oldest.done === true) break
      this.#latest.delete(oldest.value)
      this.evicted++
    }
  }

  #prune (nowMs: number): void {
    for (const [key, expires] of this.#ephemerals) {
      if (expires > nowMs) break
      this.#ephemerals.delete(key)
    }
  }
}
