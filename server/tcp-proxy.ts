// A public TCP listener for one proxy: every visitor connection becomes a mux stream on the
// owning client's session, carrying the proxy name and the visitor's normalised address.
// Visitors the proxy's source filter refuses are closed at once (counted in `refused`).
// Traffic is counted here, where frp counts it: the live streams' own byte counters plus the
// totals of finished ones (nothing is added per chunk), read by the admin API's status.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { normalizeAddress } from '../shared/net/address.js'
import { listenError, listenTcp } from '../shared/net/listen.js'
import { bridge } from '../shared/mux/bridge.js'
import type { Session } from '../shared/mux/session.js'
import type { MuxStream } from '../shared/mux/stream.js'
import type { SourceSpec } from '../shared/wire/messages.js'
import { SourceGate } from './source-gate.js'

/** A TCP proxy's counters. Directions are the visitor's: in = visitor → service. */
export interface TcpProxyTraffic {
  bytesIn: number
  bytesOut: number
  activeStreams: number
  /** Visitors that became streams. */
  streamsTotal: number
  /** Visitors refused by the source filter. */
  refused: number
  /** Visitors closed because no stream could be opened (session closing, stream limit). */
  dropped: number
}

export class TcpProxy {
  readonly type = 'tcp'
  readonly name: string
  readonly port: number
  readonly #server: Server
  readonly #session: Session
  readonly #log: Logger
  readonly #gate: SourceGate
  /** Open visitor connections and their streams. */
  readonly #visitors = new Map<Socket, MuxStream>()
  #closed = false
  /** Bytes of streams that have finished (live ones are read from the streams). */
  #doneIn = 0
  #doneOut = 0
  connections = 0
  dropped = 0

  private constructor (name: string, server: Server, port: number, session: Session, log: Logger, sources: SourceSpec) {
    this.name = name
    this.#gate = new SourceGate(sources, log)
    this.#server = server
    this.port = port
    this.#session = session
    this.#log = log
    server.on('connection', (socket) => { this.#onVisitor(socket) })
  }

  /** Listens on host:port (0 = any free port); throws TunnelError naming the address. */
  static async open (name: string, host: string, port: number, session: Session, log: Logger, sources: SourceSpec = {}): Promise<TcpProxy> {
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    try {
      const addr = await listenTcp(server, host, port)
      return new TcpProxy(name, server, addr.port, session, log.child({ proxy: name, remotePort: addr.port }), sources)
    } catch (err) {
      server.close()
      throw listenError(err, host, port)
    }
  }

  get activeVisitors (): number { return this.#visitors.size }

  /** Visitors refused by the source filter. */
  get refused (): number { return this.#gate.refused }

  /** Counters now: finished streams plus the live ones (bounded by open connections). */
  traffic (): TcpProxyTraffic {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const stream of this.#visitors.values()) {
      bytesIn += stream.bytesOut
      bytesOut += stream.bytesIn
    }
    return { bytesIn, bytesOut, activeStreams: this.#visitors.size, streamsTotal: this.connections, refused: this.refused, dropped: this.dropped }
  }

  #onVisitor (socket: Socket): void {
    if (this.#closed || this.#session.closed) { this.dropped++; socket.destroy(); return }
    if (!this.#gate.admits(socket.remoteAddress ?? '')) { socket.resetAndDestroy(); return }
    this.connections++
    socket.setNoDelay(true)
    const visitor = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
    const listener = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 }
    let stream
    try {
      stream = this.#session.openStream({ proxy: this.name, visitor, listener })
    } catch (err) {
      this.dropped++
      this.#log.warn({ remote: visitor.address, err: (err as Error).message }, 'visitor refused')
      socket.destroy()
      return
    }
    this.#visitors.set(socket, stream)
    this.#log.debug({ streamId: stream.id, remote: `${visitor.address}:${visitor.port}` }, 'visitor connected')
    bridge(stream, socket, (r) => {
      this.#visitors.delete(socket)
      // The relay sends the visitor's bytes on the stream and receives the service's.
      this.#doneIn += stream.bytesOut
      this.#doneOut += stream.bytesIn
      this.#log.debug({ streamId: stream.id, bytesIn: r.bytesFromSocket, bytesOut: r.bytesToSocket, code: r.error?.code }, 'visitor closed')
    })
  }

  /** Stops accepting at once (the port is free for a new owner); open visitors go on. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#server.close()
  }

  /** Also drops every open visitor connection. */
  destroy (): void {
    this.close()
    for (const s of [...this.#visitors.keys()]) s.destroy()
    this.#visitors.clear()
  }
}
