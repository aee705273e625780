// A public TCP listener for one proxy: every visitor connection becomes a mux stream on the
// owning client's session, carrying the proxy name and the visitor's normalised address.
// Visitors the proxy's source filter refuses are closed at once (counted in `refused`).
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { normalizeAddress } from '../shared/net/address.js'
import { listenError, listenTcp } from '../shared/net/listen.js'
import { bridge } from '../shared/mux/bridge.js'
import type { Session } from '../shared/mux/session.js'
import type { SourceSpec } from '../shared/wire/messages.js'
import { SourceGate } from './source-gate.js'

export class TcpProxy {
  readonly name: string
  readonly port: number
  readonly #server: Server
  readonly #session: Session
  readonly #log: Logger
  readonly #gate: SourceGate
  readonly #visitors = new Set<Socket>()
  #closed = false
  connections = 0

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

  #onVisitor (socket: Socket): void {
    if (this.#closed || this.#session.closed) { socket.destroy(); return }
    if (!this.#gate.admits(socket.remoteAddress ?? '')) { socket.resetAndDestroy(); return }
    this.connections++
    socket.setNoDelay(true)
    const visitor = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
    const listener = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 }
    let stream
    try {
      stream = this.#session.openStream({ proxy: this.name, visitor, listener })
    } catch (err) {
      this.#log.warn({ remote: visitor.address, err: (err as Error).message }, 'visitor refused')
      socket.destroy()
      return
    }
    this.#visitors.add(socket)
    this.#log.debug({ streamId: stream.id, remote: `${visitor.address}:${visitor.port}` }, 'visitor connected')
    bridge(stream, socket, (r) => {
      this.#visitors.delete(socket)
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
    for (const s of this.#visitors) s.destroy()
    this.#visitors.clear()
  }

  /**
   * Unregistered (a client's reload removed or changed it): stops accepting and resets every
   * open visitor, so none mistakes the cut for a clean end of its data.
   */
  reset (): void {
    this.close()
    for (const s of this.#visitors) s.resetAndDestroy()
    this.#visitors.clear()
  }
}
