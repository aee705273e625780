// How many visitor connections the relay may hold, from its fd limit: every socket is an fd, and
// at the limit Node's accept() closes new connections silently (libuv's EMFILE trick: no error,
// no count). So the relay sheds on purpose, below the limit, and counts it. Pure bookkeeping; the
// callers close sockets.
//
//   sockets allowed = fd limit − reserve
//   reserve         = fds open at start (Node itself, stdio, logs) + FD_SPARE (files, DNS, /proc
//                     reads) + room for the handshake table (so clients can always log in)
//   visitors allowed = min(maxConnections if set, sockets allowed − other sockets)
//
// "Other sockets" are listeners (control port, proxy ports, UDP sockets) and control-port
// connections (handshakes and client sessions); they are counted as they come and go, so a
// relay with many proxies leaves fewer fds to visitors.
//
// The budget also counts visitors per source over the whole relay (maxConnectionsPerSource), so
// one address cannot take every slot the fd limit leaves; per-proxy and per-client shares are
// counted by the proxies (tcp-proxy.ts), with the same source groups (source-counts.ts).
import { SourceCounts } from './source-counts.js'

/** fds kept free for everything that is not a counted socket. */
export const FD_SPARE = 32

export type ShedReason = 'maxVisitors' | 'maxConnections'
/**
 * Visitors shed because their source held its share: of one tcp proxy (maxVisitorsPerSource), of
 * one client's streams (clientShare: a quarter of them), or of the relay (maxConnectionsPerSource).
 */
export type SourceShedReason = 'maxVisitorsPerSource' | 'clientShare' | 'maxConnectionsPerSource'
export const SOURCE_SHED_REASONS: readonly SourceShedReason[] = ['maxVisitorsPerSource', 'clientShare', 'maxConnectionsPerSource']

export interface BudgetOptions {
  /** RLIMIT_NOFILE (soft); undefined = unknown or unlimited (no derived cap). */
  fdLimit: number | undefined
  /** fds open when the relay started. */
  fdsAtStart: number
  /** The configured cap on visitor connections; 0 = derived from the fd limit only. */
  maxConnections: number
  /** Handshakes the relay may have in progress (its handshake table). */
  handshakeRoom: number
  /** Visitor connections one source may hold over the whole relay; 0 or absent = no cap of its own. */
  maxPerSource?: number
}

export interface BudgetStats {
  fdLimit: number | null
  /** fds not given to sockets (see above). */
  reserve: number
  /** The cap on visitor connections now (null = none). */
  maxConnections: number | null
  /** Visitor connections open now, over all proxies. */
  visitors: number
  /** Listeners and control-port connections open now. */
  otherSockets: number
  /** Visitor connections closed at once, by reason, since the start. */
  shed: Record<ShedReason, number>
  /** Control-port connections closed at once because the fds were nearly all in use. */
  shedControl: number
  /** Visitor connections closed at once because their source held its share, by share. */
  shedBySource: Record<SourceShedReason, number>
  /** Sources holding a visitor connection now. */
  sources: number
}

export class ConnectionBudget {
  readonly fdLimit: number | undefined
  readonly reserve: number
  readonly configured: number
  readonly #fdsAtStart: number
  #visitors = 0
  #other = 0
  readonly shed: Record<ShedReason, number> = { maxVisitors: 0, maxConnections: 0 }
  readonly shedBySource: Record<SourceShedReason, number> = { maxVisitorsPerSource: 0, clientShare: 0, maxConnectionsPerSource: 0 }
  shedControl = 0
  /** Visitor connections per source over the whole relay. */
  readonly perSource: SourceCounts

  constructor (options: BudgetOptions) {
    this.fdLimit = options.fdLimit
    this.#fdsAtStart = options.fdsAtStart
    this.reserve = options.fdsAtStart + FD_SPARE + options.handshakeRoom
    this.configured = options.maxConnections
    this.perSource = new SourceCounts(options.maxPerSource ?? 0)
  }

  /** No fd limit and no configured cap: nothing is ever shed for the relay's sake. */
  static unlimited (): ConnectionBudget {
    return new ConnectionBudget({ fdLimit: undefined, fdsAtStart: 0, maxConnections: 0, handshakeRoom: 0 })
  }

  /** Visitors the fd limit allows with no other socket open (what the relay logs at start). */
  get derivedAtStart (): number | undefined {
    return this.fdLimit === undefined ? undefined : Math.max(0, this.fdLimit - this.reserve)
  }

  /** The cap on visitor connections now; Infinity when there is none. */
  get maxVisitors (): number {
    const derived = this.fdLimit === undefined ? Infinity : Math.max(0, this.fdLimit - this.reserve - this.#other)
    return Math.min(this.configured > 0 ? this.configured : Infinity, derived)
  }

  get visitors (): number { return this.#visitors }

  /** Takes a slot for a visitor; false = shed it (counted). */
  admitVisitor (): boolean {
    if (this.#visitors >= this.maxVisitors) {
      this.shed.maxConnections++
      return false
    }
    this.#visitors++
    return true
  }

  releaseVisitor (): void {
    if (this.#visitors > 0) this.#visitors--
  }

  /** A proxy's own cap shed a visitor: counted here too, for relay-wide totals. */
  countShed (reason: ShedReason): void {
    if (reason === 'maxConnections') this.shed.maxConnections++
    else this.shed.maxVisitors++
  }

  /** A visitor shed because its source held its share (of a proxy, a client or the relay). */
  countSourceShed (reason: SourceShedReason): void {
    this.shedBySource[reason]++
  }

  /**
   * A control-port connection: it may use the handshake room, but not the last FD_SPARE fds
   * (then it is refused and counted, instead of libuv closing connections silently later).
   */
  admitControl (): boolean {
    if (this.fdLimit !== undefined && this.#fdsAtStart + FD_SPARE + this.#other + this.#visitors >= this.fdLimit) {
      this.shedControl++
      return false
    }
    this.#other++
    return true
  }

  /** A listener (or any socket that is not a visitor) opened / closed. */
  holdSocket (): void { this.#other++ }
  releaseSocket (): void { if (this.#other > 0) this.#other-- }

  get stats (): BudgetStats {
    const max = this.maxVisitors
    return {
      fdLimit: this.fdLimit ?? null,
      reserve: this.reserve,
      maxConnections: Number.isFinite(max) ? max : null,
      visitors: this.#visitors,
      otherSockets: this.#other,
      shed: { ...this.shed },
      shedControl: this.shedControl,
      shedBySource: { ...this.shedBySource },
      sources: this.perSource.sources,
    }
  }
}
