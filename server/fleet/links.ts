// Inter-relay links: relays of one fleet talk to each other over the handshake and mux their
// clients use (docs/protocol.md), never in plaintext. The dialling relay logs in as the client id
// `~fleet/<its nodeName>` with its own static key (auth.privateKey) and pins the peer's public key
// from the peer's record in the store; the accepting relay checks that the key it was proven is
// the one the dialler's record publishes, so a party that is not a fleet member (no record, or
// another key) is refused (TUN_FLEET_LINK_REFUSED) even when it knows auth.token. One link per
// peer, opened on first need, reused, opened again when it dies (not before LINK_REDIAL_MS after
// a failed dial); each carries at most MAX_LINK_STREAMS streams at once. A stream on a link
// carries one forwarded visitor: its open header names what it is for (LinkTarget) and the
// original visitor's address, which the accepting relay treats as the visitor's own.
import { connect } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { TunnelError } from '../../shared/errors.js'
import { MuxDuplex, Session, type MuxStream } from '../../shared/mux/index.js'
import { normalizeAddress, parseHostPort, unbracket } from '../../shared/net/index.js'
import { ACCEPT_BYTES, ClientHandshake, decodeKey, encodeKey, parseResponse, readHandshakeMessage, recordWire, type KeyPair } from '../../shared/transport/index.js'
import { type Endpoint, type OpenHeader, ResetCode, type VisitBlock } from '../../shared/wire/index.js'
import type { RecordWire } from '../../shared/transport/index.js'
import type { OwnershipStore } from './store.js'

/** The client id a relay dials its peers with: this prefix, then its nodeName. */
export const LINK_CLIENT_ID_PREFIX = '~fleet/'
/** Streams open at once on one inter-relay link (each direction's opener counts its own). */
export const MAX_LINK_STREAMS = 4_096
/** A link's TCP connect plus handshake must finish within this. */
export const LINK_DIAL_TIMEOUT_MS = 5_000
/** After a failed dial, the peer is not dialled again for this long (forwards to it fail at once meanwhile). */
export const LINK_REDIAL_MS = 1_000
/** Pings on an idle link, and the silence after which it is given up. */
export const LINK_HEARTBEAT_MS = 10_000
export const LINK_HEARTBEAT_TIMEOUT_MS = 30_000

/** What a stream on a link is for: the open header's proxy field. */
export type LinkTarget = 'http' | 'https'
/** A visit to a secret proxy: the open header's proxy field is this prefix and the proxy's name; it carries the visit block. */
export const LINK_VISIT_PREFIX = 'visit/'

/** Counters of a relay's links (plain numbers, for status and metrics). */
export interface LinkStats {
  /** Links this relay dialled and got up, and dials that failed. */
  dialled: number
  dialFailed: number
  /** Links peers dialled that were proven fleet members, and those refused. */
  accepted: number
  refused: number
  /** Visitor streams sent to a peer, and received from one. */
  forwardedOut: number
  forwardedIn: number
  /** Forwards that could not be opened or failed before an answer. */
  forwardFailed: number
}

/** A stream a peer relay forwarded: a Duplex that reads as the original visitor's connection. */
export class ForwardedDuplex extends MuxDuplex {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string
  readonly localPort: number
  /** The peer relay it came from. */
  readonly via: string

  constructor (stream: MuxStream, visitor: Endpoint, listener: Endpoint, via: string) {
    super(stream)
    this.remoteAddress = normalizeAddress(visitor.address)
    this.remotePort = visitor.port
    this.localAddress = listener.address
    this.localPort = listener.port
    this.via = via
  }

  /** As net.Socket's: an abortive close (the peer relay resets its visitor). */
  resetAndDestroy (): this {
    if (!this.stream.closed) this.stream.reset(ResetCode.CANCEL)
    this.destroy()
    return this
  }
}

export interface FleetLinksOptions {
  nodeName: string
  store: OwnershipStore
  /** This relay's static key: what it dials with and is proven by. */
  staticKey: KeyPair
  psk: Uint8Array
  log: Logger
  /** Wall clock for the hello's timestamp (tests inject one). */
  now?: () => number
}

interface Outbound {
  session: Session | undefined
  dialling: Promise<Session> | undefined
  failedAt: number
}

export class FleetLinks {
  readonly stats: LinkStats = { dialled: 0, dialFailed: 0, accepted: 0, refused: 0, forwardedOut: 0, forwardedIn: 0, forwardFailed: 0 }
  readonly #o: FleetLinksOptions
  readonly #out = new Map<string, Outbound>()
  readonly #in = new Set<Session>()
  readonly #handlers = new Map<LinkTarget, (duplex: ForwardedDuplex) => void>()
  #visits: ((stream: MuxStream, open: OpenHeader, via: string) => void) | undefined
  #closed = false

  constructor (options: FleetLinksOptions) {
    this.#o = options
  }

  /** Streams of `target` that peers forward here go to `handler`. */
  serve (target: LinkTarget, handler: (duplex: ForwardedDuplex) => void): void {
    this.#handlers.set(target, handler)
  }

  /** Visits to secret proxies that peers forward here go to `handler` (the stream is not accepted yet). */
  serveVisits (handler: (stream: MuxStream, open: OpenHeader, via: string) => void): void {
    this.#visits = handler
  }

  /** Links up now: peers this relay dialled, and peers that dialled it. */
  get open (): { out: number, in: number, streams: number } {
    let out = 0
    let streams = 0
    for (const o of this.#out.values()) {
      if (o.session === undefined || o.session.closed) continue
      out++
      streams += o.session.streamCount
    }
    for (const s of this.#in) streams += s.streamCount
    return { out, in: this.#in.size, streams }
  }

  /** Whether `clientId` (a hello's) asks for an inter-relay link rather than a client session. */
  static isLinkId (clientId: string): boolean {
    return clientId.startsWith(LINK_CLIENT_ID_PREFIX)
  }

  /** The link to `nodeName`, dialled if none is up. Throws TUN_FLEET_LINK_DOWN or TUN_FLEET_UNAVAILABLE. */
  async link (nodeName: string): Promise<Session> {
    if (this.#closed) throw new TunnelError('TUN_FLEET_LINK_DOWN', 'this relay is shutting down')
    let o = this.#out.get(nodeName)
    if (o === undefined) {
      o = { session: undefined, dialling: undefined, failedAt: -Infinity }
      this.#out.set(nodeName, o)
    }
    if (o.session !== undefined && !o.session.closed && o.session.remoteGoAway === undefined) return o.session
    if (o.dialling !== undefined) return await o.dialling
    if (performance.now() - o.failedAt < LINK_REDIAL_MS) throw new TunnelError('TUN_FLEET_LINK_DOWN', `the link to relay ${nodeName} failed moments ago`)
    const entry = o
    entry.dialling = this.#dial(nodeName).then((s) => {
      // Closed while dialling: the new link must not outlive the relay.
      if (this.#closed) {
        s.close(new TunnelError('TUN_GOAWAY', 'relay shutting down'))
        throw new TunnelError('TUN_FLEET_LINK_DOWN', 'this relay is shutting down')
      }
      entry.session = s
      this.stats.dialled++
      s.once('close', () => { if (entry.session === s) entry.session = undefined })
      return s
    }, (err: unknown) => {
      entry.failedAt = performance.now()
      this.stats.dialFailed++
      this.#o.log.warn({ code: err instanceof TunnelError ? err.code : 'TUN_FLEET_LINK_DOWN', peer: nodeName, err: err instanceof Error ? err.message : String(err) }, 'fleet: could not open a link to a peer relay')
      throw err
    }).finally(() => { entry.dialling = undefined })
    return await entry.dialling
  }

  /** Opens a stream for `target` to `nodeName`, carrying the original visitor. Throws (counted as a failed forward). */
  async forward (nodeName: string, target: LinkTarget, visitor: Endpoint, listener: Endpoint): Promise<MuxDuplex> {
    try {
      const session = await this.link(nodeName)
      const stream = session.openStream({ proxy: target, visitor, listener })
      this.stats.forwardedOut++
      const duplex = new MuxDuplex(stream)
      duplex.on('error', () => {})
      return duplex
    } catch (err) {
      this.stats.forwardFailed++
      throw err
    }
  }

  /** Opens a visit to secret proxy `name` on `nodeName` (the visit block with the visitor's user filled in). Throws (counted as a failed forward). */
  async forwardVisit (nodeName: string, name: string, visitor: Endpoint, listener: Endpoint, visit: VisitBlock): Promise<MuxStream> {
    try {
      const session = await this.link(nodeName)
      const stream = session.openStream({ proxy: `${LINK_VISIT_PREFIX}${name}`, visitor, listener, visit })
      this.stats.forwardedOut++
      return stream
    } catch (err) {
      this.stats.forwardFailed++
      throw err
    }
  }

  async #dial (nodeName: string): Promise<Session> {
    const record = await this.#o.store.relay(nodeName)
    if (record === undefined) throw new TunnelError('TUN_FLEET_LINK_DOWN', `relay ${nodeName} is not in the fleet`)
    const key = record.publicKey === undefined ? 'none' : decodeKey(record.publicKey)
    if (typeof key === 'string') throw new TunnelError('TUN_FLEET_LINK_DOWN', `relay ${nodeName} publishes no usable public key (it has no auth.privateKey)`)
    const where = parseHostPort(record.advertiseAddr)
    if ('error' in where) throw new TunnelError('TUN_FLEET_LINK_DOWN', `relay ${nodeName}'s advertiseAddr ${record.advertiseAddr}: ${where.error}`)
    const signal = AbortSignal.timeout(LINK_DIAL_TIMEOUT_MS)
    const socket = connect({ host: unbracket(where.host), port: where.port, noDelay: true })
    socket.on('error', () => {})
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (): void => { reject(new TunnelError('TUN_FLEET_LINK_DOWN', `could not connect to relay ${nodeName} at ${record.advertiseAddr}`)) }
        socket.once('connect', () => { signal.removeEventListener('abort', fail); resolve() })
        socket.once('error', fail)
        signal.addEventListener('abort', fail, { once: true })
      })
      const handshake = new ClientHandshake({ clientId: `${LINK_CLIENT_ID_PREFIX}${this.#o.nodeName}`, clientKey: this.#o.staticKey, psk: this.#o.psk, serverKey: key, plaintext: false, nowMs: (this.#o.now ?? Date.now)() })
      socket.write(handshake.hello)
      const { value, rest } = await readHandshakeMessage(socket, (buf) => {
        const r = parseResponse(buf)
        return r === undefined ? undefined : { value: r.response, used: r.used }
      }, { maxBytes: ACCEPT_BYTES, signal, closed: () => new TunnelError('TUN_FLEET_LINK_REFUSED', `relay ${nodeName} closed the link during the handshake (it does not know this relay as a fleet member?)`) })
      const keys = handshake.finish(value)
      const log = this.#o.log.child({ link: nodeName, direction: 'out' })
      const wire = recordWire(socket, { ciphers: keys, initial: rest, logger: log })
      const session = this.#session(wire, 'client', log)
      log.info({ peer: nodeName, addr: record.advertiseAddr, session: keys.sessionId }, 'fleet: link to a peer relay up')
      return session
    } catch (err) {
      socket.destroy()
      throw err
    }
  }

  /**
   * A peer dialled this relay as `~fleet/<nodeName>`, proving `clientKey`: a link when that key is
   * the one the peer's record publishes (`commit` then records the login), else refused.
   */
  async accept (link: { wire: RecordWire, clientId: string, clientKey: Uint8Array, pinned: boolean, commit: () => void }, remote: string): Promise<boolean> {
    const nodeName = link.clientId.slice(LINK_CLIENT_ID_PREFIX.length)
    let why: string | undefined
    try {
      const record = await this.#o.store.relay(nodeName)
      const published = record?.publicKey === undefined ? undefined : decodeKey(record.publicKey)
      if (record === undefined) why = 'no relay of that name is in the fleet'
      else if (published === undefined || typeof published === 'string') why = 'that relay publishes no key'
      else if (published.length !== link.clientKey.length || !timingSafeEqual(published, link.clientKey)) why = 'its key is not the one that relay publishes'
      else if (!link.pinned) why = 'it did not pin this relay\'s key'
    } catch (err) {
      why = `the store did not answer (${err instanceof Error ? err.message : String(err)})`
    }
    if (why !== undefined || this.#closed) {
      this.stats.refused++
      this.#o.log.warn({ code: 'TUN_FLEET_LINK_REFUSED', peer: nodeName, remote, key: encodeKey(link.clientKey), reason: why ?? 'shutting down' }, 'fleet: link refused: the peer is not a proven fleet member')
      link.wire.close(true)
      return false
    }
    link.commit()
    this.stats.accepted++
    const log = this.#o.log.child({ link: nodeName, direction: 'in' })
    const session = this.#session(link.wire, 'server', log)
    this.#in.add(session)
    session.once('close', () => { this.#in.delete(session) })
    session.on('stream', (stream) => { this.#onStream(stream, nodeName) })
    log.info({ peer: nodeName, remote }, 'fleet: link from a peer relay up')
    return true
  }

  #session (wire: RecordWire, role: 'client' | 'server', log: Logger): Session {
    const session = new Session(wire, { role, logger: log, maxStreams: MAX_LINK_STREAMS, heartbeatIntervalMs: LINK_HEARTBEAT_MS, heartbeatTimeoutMs: LINK_HEARTBEAT_TIMEOUT_MS })
    // The dialler never gets streams: a peer that opens one toward it is refused.
    if (role === 'client') session.on('stream', (s) => { s.reset(ResetCode.REFUSED) })
    session.once('close', (err) => { log.info({ code: err?.code }, 'fleet: link closed') })
    return session
  }

  #onStream (stream: MuxStream, via: string): void {
    const open = stream.open
    if (open?.visit !== undefined && open.proxy.startsWith(LINK_VISIT_PREFIX) && this.#visits !== undefined) {
      this.stats.forwardedIn++
      this.#visits(stream, { ...open, proxy: open.proxy.slice(LINK_VISIT_PREFIX.length) }, via)
      return
    }
    const handler = open === undefined || open.visit !== undefined ? undefined : this.#handlers.get(open.proxy as LinkTarget)
    if (open === undefined || handler === undefined) { stream.reset(ResetCode.REFUSED); return }
    this.stats.forwardedIn++
    stream.accept()
    const duplex = new ForwardedDuplex(stream, open.visitor, open.listener, via)
    duplex.on('error', () => {})
    handler(duplex)
  }

  /** Drops every link (streams on them are reset). */
  close (): void {
    this.#closed = true
    for (const o of this.#out.values()) o.session?.close(new TunnelError('TUN_GOAWAY', 'relay shutting down'))
    for (const s of [...this.#in]) s.close(new TunnelError('TUN_GOAWAY', 'relay shutting down'))
    this.#in.clear()
  }
}
