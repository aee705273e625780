// The relay's HTTPS virtual-host port (frp's vhostHTTPSPort): TLS is not terminated. The relay
// reads the ClientHello (bounded in bytes, records and time, records split anywhere, each byte
// looked at once), routes by its server
// name, and passes every byte, the hello included, to the owning client's service, which keeps
// its own certificate. An unknown name gets a fatal unrecognized_name alert; anything that is not
// a ClientHello is closed at once. All counted.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { bridge } from '../../shared/mux/index.js'
import { ClientHelloReader } from './sni.js'
import { normalizeAddress, listenOrClose } from '../../shared/net/index.js'
import type { VisitorAdmission } from '../visitor-admission.js'
import { VhostRouter, type RouterOptions } from './router.js'
import type { HttpsVhostStats } from './stats.js'
import type { HttpsRoute } from './vhost-route.js'
import type { VhostForwarder } from './fleet-forward.js'

/** The ClientHello must have arrived this long after the connection. */
export const HELLO_TIMEOUT_MS = 10_000
/** TLS alert record: fatal (2) unrecognized_name (112), record version TLS 1.0 as in hellos. */
export const ALERT_UNRECOGNIZED_NAME = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x70])
const LINGER_MS = 2_000

export class HttpsVhost {
  readonly router: VhostRouter<HttpsRoute>
  readonly #server: Server
  readonly #stats: HttpsVhostStats
  readonly #log: Logger
  readonly #sockets = new Set<Socket>()
  readonly #admit: VisitorAdmission | undefined
  port = 0
  /** A fleet relay's way to the other relays: connections for names served elsewhere go there. */
  forwarder: VhostForwarder | undefined

  constructor (stats: HttpsVhostStats, log: Logger, admit?: VisitorAdmission, routing?: RouterOptions) {
    this.router = new VhostRouter<HttpsRoute>(routing)
    this.#stats = stats
    this.#log = log
    this.#server = createServer({ allowHalfOpen: true, noDelay: true })
    this.#admit = admit
    this.#server.on('connection', (socket) => { this.accept(socket) })
  }

  /**
   * A visitor's connection, from this port's listener or handed over by the relay's client port
   * when vhostHTTPSPort is bindPort (frp's shared port); its first bytes may have been read and
   * put back.
   */
  accept (socket: Socket): void {
    socket.on('error', () => {})
    if (this.#admit === undefined || this.#admit(socket)) this.#onConnection(socket)
  }

  async listen (host: string, port: number): Promise<number> {
    this.port = (await listenOrClose(this.#server, host, port)).port
    return this.port
  }

  close (): void { this.#server.close() }

  /** A visitor connection another relay of the fleet forwarded here (it reads as the original visitor's socket). */
  acceptForwarded (socket: Socket): void {
    this.accept(socket)
  }

  destroy (): void {
    this.#server.close()
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
  }

  #onConnection (socket: Socket): void {
    this.#stats.connections++
    this.#sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => { this.#sockets.delete(socket) })
    // Read incrementally: each byte once, however the hello is cut (sni.ts); the bytes are kept
    // to be passed on whole.
    const reader = new ClientHelloReader()
    const chunks: Buffer[] = []
    const done = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
    }
    const refuse = (reason: string): void => {
      done()
      this.#stats.badHello++
      this.#log.debug({ remote: normalizeAddress(socket.remoteAddress ?? ''), reason }, 'https vhost: not a usable ClientHello')
      socket.destroy()
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      const r = reader.push(chunk)
      if (r.kind === 'more') return
      if (r.kind === 'invalid') { refuse(r.reason); return }
      done()
      this.#route(socket, chunks.length === 1 ? chunk : Buffer.concat(chunks), r.serverName ?? '')
    }
    const onEnd = (): void => { refuse('closed before a complete ClientHello') }
    const timer = setTimeout(() => { refuse(`no ClientHello within ${HELLO_TIMEOUT_MS} ms`) }, HELLO_TIMEOUT_MS)
    socket.on('data', onData)
    socket.once('end', onEnd)
  }

  /** No proxy here serves `serverName`: another relay of the fleet may; the hello and every byte after it go there. */
  #viaFleet (forwarder: VhostForwarder, socket: Socket, hello: Buffer, serverName: string, visitor: { address: string, port: number }): void {
    const listener = { address: normalizeAddress(socket.localAddress ?? ''), port: this.port }
    // Bytes after the hello wait in the socket until the link is up.
    socket.pause()
    forwarder.open('https', serverName, visitor, listener).then((link) => {
      if (link === undefined) {
        this.#stats.unknownHost++
        socket.end(ALERT_UNRECOGNIZED_NAME)
        setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
        return
      }
      if (socket.destroyed) { link.destroy(); return }
      this.#stats.forwarded++
      link.write(hello)
      link.on('error', () => { socket.destroy() })
      socket.once('close', () => { link.destroy() })
      link.once('close', () => { if (!socket.writableEnded) socket.destroy() })
      socket.pipe(link)
      link.pipe(socket)
      socket.resume()
    }, () => {
      forwarder.failed('https', serverName)
      this.#stats.backendDown++
      socket.destroy()
    })
  }

  #route (socket: Socket, hello: Buffer, serverName: string): void {
    const visitor = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
    const hit = this.router.lookup(serverName, '/')
    if (hit === undefined && serverName !== '' && this.forwarder !== undefined && !this.forwarder.forwarded(socket)) {
      this.#viaFleet(this.forwarder, socket, hello, serverName, visitor)
      return
    }
    if (hit === undefined) {
      this.#stats.unknownHost++
      this.#log.debug({ serverName, remote: visitor.address }, 'https vhost: no proxy for this server name')
      socket.end(ALERT_UNRECOGNIZED_NAME)
      setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
      return
    }
    const route = hit.target
    if (!route.gate.admits(visitor.address)) {
      this.#stats.forbidden++
      socket.resetAndDestroy()
      return
    }
    const admit = route.admit
    if (admit === undefined) {
      this.#open(socket, hello, serverName, route, visitor)
      return
    }
    // The relay's plugins (NewUserConn) decide; bytes after the hello wait in the socket meanwhile.
    socket.pause()
    const decided = (ok: boolean): void => {
      if (socket.destroyed) return
      if (!ok) {
        this.#stats.forbidden++
        socket.resetAndDestroy()
        return
      }
      socket.resume() // flowing from the next tick: #open's bridge is attached by then
      this.#open(socket, hello, serverName, route, visitor)
    }
    admit(visitor).then(decided, () => { decided(false) })
  }

  /** Opens the stream toward the proxy's client and passes the hello and every byte after it. */
  #open (socket: Socket, hello: Buffer, serverName: string, route: HttpsRoute, visitor: { address: string, port: number }): void {
    const listener = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 }
    let stream
    try {
      stream = route.session.openStream({ proxy: route.name, visitor, listener })
    } catch (err) {
      this.#stats.backendDown++
      route.log.warn({ remote: visitor.address, err: (err as Error).message }, 'visitor refused')
      socket.destroy()
      return
    }
    this.#stats.routed++
    route.connections++
    route.log.debug({ streamId: stream.id, serverName, remote: `${visitor.address}:${visitor.port}` }, 'https visitor connected')
    stream.write(hello)
    const ended = route.tally.track(stream)
    bridge(stream, socket, (r) => {
      ended()
      if (r.error?.code === 'TUN_LOCAL_DIAL') this.#stats.backendDown++
      route.log.debug({ streamId: stream.id, bytesIn: r.bytesFromSocket + hello.length, bytesOut: r.bytesToSocket, code: r.error?.code }, 'https visitor closed')
    })
  }
}
