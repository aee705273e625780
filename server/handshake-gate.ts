// Admission of handshakes on the control port, so neither a slowloris nor many sources can keep a
// real client out: at most `maxPerSource` in progress per source (an IPv4 /24, an IPv6 /64: one
// network, not one address, since an attacker often has a whole block), refused beyond; at most
// `maxPending` overall. When the table is full a newcomer is not refused: the oldest handshake
// among the sources holding the most *unproven* slots is dropped instead. A handshake that has
// proved the token (its hello decrypted) is not dropped while it waits for the client's first
// record, which a client far away may take a round trip to send (issue 22, finding 1: dropping
// the oldest dropped exactly the slow real client), for up to PROVEN_GRACE_MS; one that waits
// longer (a token holder sitting on slots) can be dropped again. When every slot is freshly
// proven, newcomers are refused until one frees. Each source also has a token bucket of new handshakes (20 per
// second, burst 20, as WireGuard's ratelimiter). Pure bookkeeping with an injected clock; the
// caller closes sockets.
import { isIP } from 'node:net'
import { ipv6Bytes, normalizeAddress } from '../shared/net/index.js'

export const MAX_PENDING_HANDSHAKES = 64
export const MAX_PENDING_HANDSHAKES_PER_SOURCE = 8
export const HANDSHAKES_PER_SECOND_PER_SOURCE = 20
export const HANDSHAKE_BURST_PER_SOURCE = 20
/** How long a proven handshake is safe from being dropped while it waits for the client's first record. */
export const PROVEN_GRACE_MS = 3_000
/** Sources whose bucket is remembered; the least recently seen is forgotten beyond it. */
export const MAX_TRACKED_SOURCES = 4096

export interface GateOptions {
  maxPending?: number
  maxPerSource?: number
  ratePerSecond?: number
  burst?: number
  /** Monotonic milliseconds (tests inject one). */
  now?: () => number
}

export type Admission = GateTicket | 'per-source' | 'rate' | 'full'

interface Bucket {
  tokens: number
  atMs: number
}

export interface GateTicket {
  /** The source group this handshake counts against. */
  readonly source: string
  /** The handshake proved the token: never dropped to make room from now on. */
  prove: () => void
  /** Frees the slot (idempotent): the handshake finished, failed, or the session became active. */
  release: () => void
}

interface Entry {
  source: string
  evict: () => void
  /** When it proved the token (monotonic ms), or undefined. */
  provenAt: number | undefined
}

/** IPv4 (and IPv4-mapped IPv6) by /24, IPv6 by /64. */
export function sourceGroup (address: string): string {
  const a = normalizeAddress(address)
  if (isIP(a) === 4) return `${a.split('.').slice(0, 3).join('.')}.0/24`
  if (isIP(a) !== 6) return a
  const bytes = ipv6Bytes(a.split('%')[0] ?? a)
  if (bytes === undefined) return a
  return `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`
}

export class HandshakeGate {
  readonly maxPending: number
  readonly maxPerSource: number
  /** Insertion order = age. */
  readonly #entries = new Map<number, Entry>()
  readonly #perSource = new Map<string, number>()
  readonly #buckets = new Map<string, Bucket>()
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  #seq = 0
  /** Newcomers refused by the per-source cap. */
  refused = 0
  /** Handshakes dropped to make room. */
  evicted = 0
  /** Newcomers refused because every slot held a proven handshake. */
  full = 0

  constructor (options: GateOptions = {}) {
    this.maxPending = options.maxPending ?? MAX_PENDING_HANDSHAKES
    this.maxPerSource = options.maxPerSource ?? MAX_PENDING_HANDSHAKES_PER_SOURCE
    this.#rate = options.ratePerSecond ?? HANDSHAKES_PER_SECOND_PER_SOURCE
    this.#burst = options.burst ?? HANDSHAKE_BURST_PER_SOURCE
    this.#now = options.now ?? (() => performance.now())
  }

  get pending (): number { return this.#entries.size }

  /** A ticket, or why not: the source has maxPerSource handshakes in progress, or its rate is used up. */
  admit (address: string, evict: () => void): Admission {
    const source = sourceGroup(address)
    if ((this.#perSource.get(source) ?? 0) >= this.maxPerSource) {
      this.refused++
      return 'per-source'
    }
    if (!this.#take(source)) {
      this.refused++
      return 'rate'
    }
    if (this.#entries.size >= this.maxPending && !this.#evictOne()) {
      this.full++
      return 'full'
    }
    const id = this.#seq++
    this.#entries.set(id, { source, evict, provenAt: undefined })
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1)
    return {
      source,
      prove: () => { const e = this.#entries.get(id); if (e !== undefined) e.provenAt = this.#now() },
      release: () => { this.#remove(id) },
    }
  }

  /** One token from the source's bucket (refilled at `rate` per second up to `burst`). */
  #take (source: string): boolean {
    const now = this.#now()
    const b = this.#buckets.get(source) ?? { tokens: this.#burst, atMs: now }
    this.#buckets.delete(source) // re-inserted below: the map's order is recency
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.atMs) / 1000) * this.#rate)
    b.atMs = now
    const ok = b.tokens >= 1
    if (ok) b.tokens -= 1
    this.#buckets.set(source, b)
    if (this.#buckets.size > MAX_TRACKED_SOURCES) {
      const oldest = this.#buckets.keys().next()
      if (oldest.done !== true) this.#buckets.delete(oldest.value)
    }
    return ok
  }

  #remove (id: number): Entry | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    this.#entries.delete(id)
    const n = (this.#perSource.get(entry.source) ?? 1) - 1
    if (n <= 0) this.#perSource.delete(entry.source)
    else this.#perSource.set(entry.source, n)
    return entry
  }

  /**
   * Drops the oldest droppable handshake (unproven, or proven longer than PROVEN_GRACE_MS ago)
   * among the sources holding the most droppable slots; false when none may be dropped.
   */
  #evictOne (): boolean {
    const now = this.#now()
    const droppable = (e: Entry): boolean => e.provenAt === undefined || now - e.provenAt > PROVEN_GRACE_MS
    const count = new Map<string, number>()
    for (const e of this.#entries.values()) if (droppable(e)) count.set(e.source, (count.get(e.source) ?? 0) + 1)
    let most = 0
    for (const n of count.values()) most = Math.max(most, n)
    if (most === 0) return false
    for (const [id, entry] of this.#entries) {
      if (!droppable(entry) || count.get(entry.source) !== most) continue
      this.#remove(id)
      this.evicted++
      entry.evict()
      return true
    }
    return false
  }
}
