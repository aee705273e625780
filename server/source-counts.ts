// Visitors per source, so that no one source takes what a cap shares among everyone (issue 22,
// findings 10 and 11): a source is an IPv4 address (IPv4-mapped IPv6 included) or an IPv6 /64,
// what one host or one customer line usually has. Pure bookkeeping: a count per source that
// holds something, forgotten at zero, so the map is bounded by what is open.
import { isIP } from 'node:net'
import { ipv6Bytes, normalizeAddress } from '../shared/net/index.js'

/**
 * The source a visitor address counts against: the address itself for IPv4, its /64 for IPv6
 * (one host usually has a whole /64 to pick addresses from).
 */
export function visitorSource (address: string): string {
  const a = normalizeAddress(address)
  if (isIP(a) !== 6) return a
  const bytes = ipv6Bytes(a.split('%')[0] ?? a)
  if (bytes === undefined) return a
  return `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`
}

/** One source holds at most 1/CLIENT_STREAM_SHARE of a client's streams over all its tcp proxies. */
export const CLIENT_STREAM_SHARE = 4

/**
 * Visitors one source may hold open at once over all of one client's tcp proxies: a quarter of
 * the streams its session allows (transport.maxStreams), so one address never takes every stream.
 */
export function clientStreamsPerSource (maxStreams: number): number {
  return Math.max(1, Math.floor(maxStreams / CLIENT_STREAM_SHARE))
}

export class SourceCounts {
  /** At most this many per source; 0 = no cap (still counted). */
  readonly cap: number
  readonly #counts = new Map<string, number>()

  constructor (cap: number) {
    this.cap = cap
  }

  /** Sources holding something now. */
  get sources (): number { return this.#counts.size }

  count (source: string): number { return this.#counts.get(source) ?? 0 }

  /** The source holds its cap: one more would be past it. */
  full (source: string): boolean { return this.cap > 0 && this.count(source) >= this.cap }

  add (source: string): void { this.#counts.set(source, this.count(source) + 1) }

  release (source: string): void {
    const n = this.count(source) - 1
    if (n <= 0) this.#counts.delete(source)
    else this.#counts.set(source, n)
  }
}
