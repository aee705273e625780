// The relay's tcpmux port (frp's tcpmuxHTTPConnectPort): many TCP services on one public port.
// A visitor sends `CONNECT host:port HTTP/1.1` (curl --proxytunnel, ssh's ProxyCommand with
// nc -X connect, ...); the relay reads that head (at most MAX_CONNECT_HEAD_BYTES within
// CONNECT_HEAD_TIMEOUT_MS, at most MAX_PENDING_HEADS connections reading one at once), routes
// it by host and Proxy-Authorization user (tcpmux-routes.ts), asks for the route's credentials
// (407), picks a healthy member in turn (503 when none is), answers `200 Connection
// established` and hands the connection to the member, which passes every later byte to its
// client's service. With tcpmuxPassthrough the relay answers nothing: the head itself goes to the
// service, which answers the CONNECT. Every outcome is counted.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { listenOrClose, normalizeAddress } from '../../shared/net/index.js'
import { readConnectHead } from './connect-head.js'
import { type TcpmuxClaim, type TcpmuxMember, type TcpmuxOwnership, type TcpmuxRoute, TcpmuxRoutes } from './tcpmux-routes.js'

/** The CONNECT head must have arrived this long after the connection. */
export const CONNECT_HEAD_TIMEOUT_MS = 10_000
/** Connections still sending their head at once; more are reset at once (a flood of slow heads). */
export const MAX_PENDING_HEADS = 1024
/** An error answer is followed by a close; a peer that does not read it is dropped after this. */
const LINGER_MS = 2_000

export interface TcpmuxStats {
  connections: number
  routed: number
  /** Not a CONNECT head (or too long, or malformed): 400, 405, 431. */
  badHead: number
  /** No route for the host (and user): 404. */
  notFound: number
  /** Missing or wrong Proxy-Authorization: 407. */
  unauthorized: number
  /** The route's members are all unhealthy: 503. */
  noMember: number
  /** No complete head in time. */
  timeouts: number
  /** Reset at once: MAX_PENDING_HEADS connections were reading their head. */
  shed: number
}

/** What a proxy holds on the tcpmux port: its routes, until it leaves. */
export interface TcpmuxTicket {
  port: number
  domains: readonly string[]
  /** `reserve`: the owner's session ended; its domains stay reserved for it for ownershipGrace. */
  leave: (reserve?: boolean) => void
  /** Its group (when in one): members now and how many are healthy, over its first route. */
  group: () => { name: string, members: number, healthy: number } | undefined
}

export class TcpmuxHub {
  readonly #server: Server
  readonly #log: Logger
  readonly #passthrough: boolean
  readonly routes: TcpmuxRoutes
  readonly stats: TcpmuxStats = { connections: 0, routed: 0, badHead: 0, notFound: 0, unauthorized: 0, noMember: 0, timeouts: 0, shed: 0 }
  readonly #pending = new Set<Socket>()
  port = 0

  constructor (passthrough: boolean, log: Logger, ownership: Partial<TcpmuxOwnership> = {}) {
    this.routes = new TcpmuxRoutes(ownership)
    this.#passthrough = passthrough
    this.#log = log
    this.#server = createServer({ allowHalfOpen: true, noDelay: true })
    this.#server.on('connection', (socket) => { this.#onConnection(socket) })
  }

  async listen (host: string, port: number): Promise<number> {
    this.port = (await listenOrClose(this.#server, host, port)).port
    this.#log.info({ port: this.port, passthrough: this.#passthrough }, 'tcpmux listening')
    return this.port
  }

  /** Stops accepting; tunnels in flight go on (they belong to their proxies). */
  close (): void {
    this.#server.close()
    for (const s of this.#pending) s.destroy()
    this.#pending.clear()
  }

  /** Claims the proxy's domains for `member`; throws a TunnelError for this proxy alone. */
  open (claim: TcpmuxClaim, member: TcpmuxMember): TcpmuxTicket {
    const routes = this.routes.claim(claim, member)
    let left = false
    return {
      port: this.port,
      domains: claim.domains,
      leave: (reserve = false) => {
        if (left) return
        left = true
        this.routes.release(routes, member, reserve)
      },
      group: () => {
        const r = routes[0]
        return r?.group === undefined ? undefined : { name: r.group.name, members: r.members.size, healthy: r.members.healthyCount }
      },
    }
  }

  #onConnection (socket: Socket): void {
    socket.on('error', () => {})
    this.stats.connections++
    if (this.#pending.size >= MAX_PENDING_HEADS) {
      this.stats.shed++
      socket.resetAndDestroy()
      return
    }
    this.#pending.add(socket)
    let buf: Buffer = Buffer.alloc(0)
    const done = (): void => {
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      this.#pending.delete(socket)
    }
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      const head = readConnectHead(buf)
      if (head.kind === 'more') return
      done()
      if (head.kind === 'invalid') {
        this.stats.badHead++
        this.#log.debug({ remote: normalizeAddress(socket.remoteAddress ?? ''), reason: head.reason }, 'tcpmux: not a usable CONNECT head')
        answer(socket, head.status, head.reason)
        return
      }
      const route = this.routes.lookup(head.host, head.user)
      if (route === undefined) {
        this.stats.notFound++
        answer(socket, 404, `no tcpmux proxy serves ${head.host}`)
        return
      }
      if (!route.authorizes(head.user, head.password)) {
        this.stats.unauthorized++
        answer(socket, 407, 'this host asks for credentials (Proxy-Authorization: Basic)')
        return
      }
      this.#route(socket, route, buf, head.headBytes)
    }
    const onEnd = (): void => {
      done()
      this.stats.badHead++
      socket.destroy()
    }
    const timer = setTimeout(() => {
      done()
      this.stats.timeouts++
      socket.destroy()
    }, CONNECT_HEAD_TIMEOUT_MS)
    timer.unref()
    socket.once('close', () => { clearTimeout(timer); this.#pending.delete(socket) })
    socket.on('data', onData)
    socket.on('end', onEnd)
  }

  #route (socket: Socket, route: TcpmuxRoute, buf: Buffer, headBytes: number): void {
    const member = route.members.pick()
    if (member === undefined) {
      this.stats.noMember++
      answer(socket, 503, `no healthy proxy serves ${route.domain} now`)
      return
    }
    this.stats.routed++
    // Passthrough: the service reads (and answers) the CONNECT itself.
    const rest = this.#passthrough ? buf : buf.subarray(headBytes)
    if (!this.#passthrough) socket.write('HTTP/1.1 200 Connection established\r\n\r\n')
    if (rest.length > 0) socket.unshift(rest)
    member.accept(socket)
  }
}

const REASONS: Readonly<Record<number, string>> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 407: 'Proxy Authentication Required', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' }

/** A short plain-text answer, then the connection closes (destroyed if the peer does not read it). */
function answer (socket: Socket, status: number, text: string): void {
  const body = `${text}\n`
  const extra = status === 407 ? 'Proxy-Authenticate: Basic realm="tunnel"\r\n' : status === 405 ? 'Allow: CONNECT\r\n' : ''
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${extra}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
}
