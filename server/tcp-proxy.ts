// A public TCP listener for one proxy: every visitor connection becomes a mux stream on the
// owning client's session, carrying the proxy name and the visitor's normalised address.
// Visitors the proxy's source filter refuses are closed at once (counted in `refused`). Past the
// proxy's maxVisitors, or the relay's connection budget (its fd limit), a visitor is shed: reset
// at once, counted, and warned about (rate-limited). So is one whose source (an IPv4 address or
// an IPv6 /64) already holds its share: maxVisitorsPerSource on this proxy, a quarter of the
// client's streams over all its proxies, maxConnectionsPerSource on the relay; one address
// cannot take what everyone shares. With a bandwidth limit (bandwidthLimitMode
// server) every visitor of the proxy shares one token bucket. Traffic is counted here, where frp
// counts it: the live streams' own byte counters plus the totals of finished ones (nothing is
// added per chunk), read by the admin API's status.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { formatBandwidth, TokenBucket, type TokenBucketStats } from '../shared/limit/index.js'
import { normalizeAddress, listenOrClose } from '../shared/net/index.js'
import { TunnelError } from '../shared/errors.js'
import { adoptPooledReads, bridge, type Session, type MuxStream } from '../shared/mux/index.js'
import type { Endpoint, SourceSpec } from '../shared/wire/index.js'
import { ConnectionBudget, SOURCE_SHED_REASONS, type ShedReason, type SourceShedReason } from './connection-budget.js'
import { ShedWarner } from './shed-warner.js'
import { SourceCounts, visitorSource } from './source-counts.js'
import { SourceGate } from './source-gate.js'

export interface TcpProxyOptions {
  sources?: SourceSpec
  /** Visitor connections open at once; 0 or absent = no cap of its own. */
  maxVisitors?: number | undefined
  /** Bytes per second for the whole proxy (both directions); 0 or absent = none. */
  bandwidthLimit?: number | undefined
  /** The relay's visitor budget (fd limit, maxConnectionsPerSource); absent = unlimited. */
  budget?: ConnectionBudget
  /**
   * Asked before a visitor is admitted (the relay's plugins, NewUserConn); false or a rejection
   * resets it. Absent = every visitor is asked nothing.
   */
  admit?: (visitor: Endpoint) => Promise<boolean>
  /** Visitor connections one source may hold open on this proxy; 0 or absent = no cap. */
  maxVisitorsPerSource?: number
  /** Visitors per source over all tcp proxies of the owning client (its share of the client's streams). */
  clientSources?: SourceCounts
}

/** Plain numbers, for logs and metrics. */
export interface TcpProxyStats {
  /** Visitors admitted since the proxy opened. */
  connections: number
  activeVisitors: number
  /** Refused by the source filter. */
  refused: number
  /** Reset at once, by reason. */
  shed: Record<ShedReason, number>
  /** Reset at once because their source held its share, by share. */
  shedBySource: Record<SourceShedReason, number>
  /** This proxy's own cap (0 = none). */
  maxVisitors: number
  /** The bandwidth limit's bucket (server mode), or null. */
  bandwidth: TokenBucketStats | null
}

/** A TCP proxy's counters. Directions are the visitor's: in = visitor → service. */
export interface TcpProxyTraffic {
  bytesIn: number
  bytesOut: number
  activeStreams: number
  /** Visitors that became streams. */
  streamsTotal: number
  /** Visitors refused by the source filter. */
  refused: number
  /** Visitors closed at once: shed (maxVisitors, maxConnections) or no stream could be opened. */
  dropped: number
}

/** A visitor socket's errors are reported through 'close'; one function for every socket, not a closure each (issue 21). */
function ignoreSocketError (): void {}

export class TcpProxy {
  readonly type = 'tcp'
  readonly name: string
  readonly port: number
  /** Its own public port; undefined for a member of a load-balancing group (the group listens). */
  readonly #server: Server | undefined
  readonly #session: Session
  readonly #log: Logger
  readonly #gate: SourceGate
  readonly #budget: ConnectionBudget
  readonly #maxVisitors: number
  readonly #limiter: TokenBucket | undefined
  readonly #shedWarners: Record<ShedReason | SourceShedReason, ShedWarner>
  /** Open visitor connections and their streams. */
  readonly #visitors = new Map<Socket, MuxStream>()
  readonly #shed: Record<ShedReason, number> = { maxVisitors: 0, maxConnections: 0 }
  readonly #shedBySource: Record<SourceShedReason, number> = { maxVisitorsPerSource: 0, clientShare: 0, maxConnectionsPerSource: 0 }
  /** Open visitors per source on this proxy, and over all of the client's tcp proxies. */
  readonly #sources: SourceCounts
  readonly #clientSources: SourceCounts
  /** Visitors that could not become a stream: warned about at most every interval. */
  readonly #refusedWarner: ShedWarner
  #closed = false
  /** Bytes of streams that have finished (live ones are read from the streams). */
  #doneIn = 0
  #doneOut = 0
  readonly #admit: TcpProxyOptions['admit']
  connections = 0
  dropped = 0
  /** False while the client's health check of the service fails: visitors are reset at once. */
  healthy = true
  /** Visitors reset because the proxy was unhealthy, or refused by a relay plugin. */
  unhealthyDrops = 0
  pluginRefused = 0

  private constructor (name: string, server: Server | undefined, port: number, session: Session, log: Logger, options: TcpProxyOptions) {
    this.name = name
    this.#gate = new SourceGate(options.sources ?? {}, log)
    this.#server = server
    this.port = port
    this.#session = session
    this.#log = log
    this.#budget = options.budget ?? ConnectionBudget.unlimited()
    this.#maxVisitors = options.maxVisitors ?? 0
    const rate = options.bandwidthLimit ?? 0
    this.#limiter = rate > 0 ? new TokenBucket(rate) : undefined
    this.#shedWarners = {
      maxVisitors: new ShedWarner(log),
      maxConnections: new ShedWarner(log),
      maxVisitorsPerSource: new ShedWarner(log),
      clientShare: new ShedWarner(log),
      maxConnectionsPerSource: new ShedWarner(log),
    }
    this.#sources = new SourceCounts(options.maxVisitorsPerSource ?? 0)
    this.#clientSources = options.clientSources ?? new SourceCounts(0)
    this.#refusedWarner = new ShedWarner(log)
    this.#admit = options.admit
    if (server !== undefined) this.#budget.holdSocket()
    server?.on('connection', (socket) => { this.accept(socket) })
  }

  /** A socket another listener paused (tcpmux, after its CONNECT head) reads again once bridged. */
  #admitted (socket: Socket): void {
    this.#onVisitor(socket)
    if (!socket.destroyed && socket.isPaused()) socket.resume()
  }

  /**
   * A member of a load-balancing group: no port of its own; the group's listener (on `port`)
   * hands it the visitors it picks for it through accept().
   */
  static member (name: string, port: number, session: Session, log: Logger, options: TcpProxyOptions = {}): TcpProxy {
    return new TcpProxy(name, undefined, port, session, log.child({ proxy: name, remotePort: port }), options)
  }

  /**
   * A visitor for this proxy (from its own port, a group's or the tcpmux port). An unhealthy
   * proxy resets it; with a plugin gate it waits for the plugins' answer first (the socket is
   * not read meanwhile).
   */
  accept (socket: Socket): void {
    socket.on('error', ignoreSocketError)
    if (!this.healthy && !this.#closed) {
      this.unhealthyDrops++
      socket.resetAndDestroy()
      return
    }
    const admit = this.#admit
    if (admit === undefined) { this.#admitted(socket); return }
    const visitor = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
    admit(visitor).then((ok) => {
      if (socket.destroyed) return
      if (ok) { this.#admitted(socket); return }
      this.pluginRefused++
      socket.resetAndDestroy()
    }, () => {
      this.pluginRefused++
      socket.resetAndDestroy()
    })
  }

  /** Listens on host:port (0 = any free port); throws TunnelError naming the address. */
  static async open (name: string, host: string, port: number, session: Session, log: Logger, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    const addr = await listenOrClose(server, host, port)
    return new TcpProxy(name, server, addr.port, session, log.child({ proxy: name, remotePort: addr.port }), options)
  }

  get activeVisitors (): number { return this.#visitors.size }

  /** Visitors refused by the source filter. */
  get refused (): number { return this.#gate.refused }

  /** Bytes per second of the bandwidth limit applied here, or 0. */
  get bandwidthLimit (): number { return this.#limiter?.rate ?? 0 }

  get stats (): TcpProxyStats {
    return {
      connections: this.connections,
      activeVisitors: this.#visitors.size,
      refused: this.#gate.refused,
      shed: { ...this.#shed },
      shedBySource: { ...this.#shedBySource },
      maxVisitors: this.#maxVisitors,
      bandwidth: this.#limiter?.stats ?? null,
    }
  }

  /** Counters now: finished streams plus the live ones (bounded by open connections). */
  traffic (): TcpProxyTraffic {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const stream of this.#visitors.values()) {
      bytesIn += stream.bytesOut
      bytesOut += stream.bytesIn
    }
    const shed = this.#shed.maxVisitors + this.#shed.maxConnections + SOURCE_SHED_REASONS.reduce((n, r) => n + this.#shedBySource[r], 0)
    return { bytesIn, bytesOut, activeStreams: this.#visitors.size, streamsTotal: this.connections, refused: this.refused + this.pluginRefused, dropped: this.dropped + shed + this.unhealthyDrops }
  }

  #onVisitor (socket: Socket): void {
    socket.on('error', ignoreSocketError)
    if (this.#closed || this.#session.closed) { this.dropped++; socket.destroy(); return }
    if (!this.#gate.admits(socket.remoteAddress ?? '')) { socket.resetAndDestroy(); return }
    if (this.#maxVisitors > 0 && this.#visitors.size >= this.#maxVisitors) {
      this.#budget.countShed('maxVisitors')
      this.#shedVisitor(socket, 'maxVisitors', this.#maxVisitors)
      return
    }
    const source = visitorSource(socket.remoteAddress ?? '')
    const full = this.#sourceFull(source)
    if (full !== undefined) {
      this.#shedBySourceVisitor(socket, full, source)
      return
    }
    if (!this.#budget.admitVisitor()) {
      this.#shedVisitor(socket, 'maxConnections', this.#budget.maxVisitors)
      return
    }
    this.#sources.add(source)
    this.#clientSources.add(source)
    this.#budget.perSource.add(source)
    socket.once('close', () => {
      this.#budget.releaseVisitor()
      this.#sources.release(source)
      this.#clientSources.release(source)
      this.#budget.perSource.release(source)
    })
    this.connections++
    socket.setNoDelay(true)
    const visitor = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
    const listener = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 }
    let stream
    try {
      stream = this.#session.openStream({ proxy: this.name, visitor, listener })
    } catch (err) {
      this.dropped++
      // A stranger decides how often this happens: rate-limited, with the count.
      this.#refusedWarner.note({ code: err instanceof TunnelError ? err.code : undefined, remote: visitor.address, dropped: this.dropped, err: (err as Error).message }, 'visitor refused: no stream could be opened')
      socket.destroy()
      return
    }
    this.#visitors.set(socket, stream)
    this.#log.debug({ streamId: stream.id, remote: `${visitor.address}:${visitor.port}` }, 'visitor connected')
    // The visitor's reads go into pooled blocks, given back once sealed (issue 21: memory under load).
    const reader = adoptPooledReads(socket)
    bridge(stream, socket, (r) => {
      this.#visitors.delete(socket)
      // The relay sends the visitor's bytes on the stream and receives the service's.
      this.#doneIn += stream.bytesOut
      this.#doneOut += stream.bytesIn
      this.#log.debug({ streamId: stream.id, bytesIn: r.bytesFromSocket, bytesOut: r.bytesToSocket, code: r.error?.code }, 'visitor closed')
    }, { limiter: this.#limiter, reader })
  }

  /** Which share the visitor's source already holds in full, if any (checked before anything is taken). */
  #sourceFull (source: string): SourceShedReason | undefined {
    if (this.#sources.full(source)) return 'maxVisitorsPerSource'
    if (this.#clientSources.full(source)) return 'clientShare'
    if (this.#budget.perSource.full(source)) return 'maxConnectionsPerSource'
    return undefined
  }

  /** Resets a visitor whose source holds its share, counts it here and relay-wide, warns (rate-limited). */
  #shedBySourceVisitor (socket: Socket, reason: SourceShedReason, source: string): void {
    this.#shedBySource[reason]++
    this.#budget.countSourceShed(reason)
    socket.resetAndDestroy()
    const limit = reason === 'maxVisitorsPerSource' ? this.#sources.cap : reason === 'clientShare' ? this.#clientSources.cap : this.#budget.perSource.cap
    const message = reason === 'maxVisitorsPerSource'
      ? 'visitor shed: its source holds maxVisitorsPerSource connections on this proxy'
      : reason === 'clientShare'
        ? 'visitor shed: its source holds its share (a quarter) of the client\'s streams'
        : 'visitor shed: its source holds maxConnectionsPerSource connections on the relay'
    this.#shedWarners[reason].note({ reason, limit, source, shed: this.#shedBySource[reason], relayShed: this.#budget.shedBySource[reason], activeVisitors: this.#visitors.size }, message)
  }

  /** Resets the visitor at once (RST: no lingering fd, no half-open state) and counts it. */
  #shedVisitor (socket: Socket, reason: ShedReason, limit: number): void {
    this.#shed[reason]++
    const remote = normalizeAddress(socket.remoteAddress ?? '')
    socket.resetAndDestroy()
    const message = reason === 'maxVisitors'
      ? 'visitor shed: the proxy is at its maxVisitors'
      : 'visitor shed: the relay is at maxConnections (derived from its fd limit unless set)'
    this.#shedWarners[reason].note({ reason, limit, shed: this.#shed[reason], relayShed: this.#budget.shed[reason], activeVisitors: this.#visitors.size, remote }, message)
  }

  /** Stops accepting at once (the port is free for a new owner); open visitors go on. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#server !== undefined) {
      this.#server.close()
      this.#budget.releaseSocket()
    }
    const s = this.#shed
    const bySource = SOURCE_SHED_REASONS.reduce((n, r) => n + this.#shedBySource[r], 0)
    if (s.maxVisitors + s.maxConnections + bySource > 0 || this.#limiter !== undefined) {
      this.#log.info({ connections: this.connections, shed: { ...s }, ...(bySource > 0 ? { shedBySource: { ...this.#shedBySource } } : {}), bandwidthLimit: this.#limiter === undefined ? undefined : formatBandwidth(this.#limiter.rate), bandwidthWaits: this.#limiter?.stats.waits }, 'proxy closed')
    }
  }

  /** Also drops every open visitor connection. */
  destroy (): void {
    this.close()
    for (const s of [...this.#visitors.keys()]) s.destroy()
    this.#visitors.clear()
  }

  /**
   * Unregistered (a client's reload removed or changed it): stops accepting and resets every
   * open visitor, so none mistakes the cut for a clean end of its data.
   */
  reset (): void {
    this.close()
    for (const s of [...this.#visitors.keys()]) s.resetAndDestroy()
    this.#visitors.clear()
  }
}
