// The relay's HTTP virtual-host port (frp's vhostHTTPPort). The relay reads each visitor
// connection itself (visitor-connection.ts, the fast path of issue 21: only request heads are
// parsed, with strict framing, and bodies and responses pass as bytes); every request is routed
// on its own by Host and path (router.ts) and, with routeByHTTPUser, its basic-auth user, so one
// visitor connection may reach different proxies request by request. The request goes on to the
// owning client through that proxy's Upstream (pooled mux streams) with hop-by-hop headers
// dropped and X-Forwarded-For / X-Real-IP / X-Forwarded-Proto / X-Forwarded-Host set. WebSocket
// and other upgrades become a byte pipe after the service's 101. The relay answers itself only
// when it must: 400 (no usable host or path, or not HTTP/1.1), 431 (head too large), 404 (no
// proxy), 401 (basic auth), 403 (source filter), 502 (client or service unreachable, or a
// malformed response), 504 (no response header within vhostHTTPTimeout); all are counted.
import { createServer, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { basicChallenge, parseBasicAuth } from './basic-auth.js'
import { headerValue } from './header-rewrite.js'
import type { RequestHead } from './http1.js'
import { loosePath, routingPath } from '../../shared/http/index.js'
import { HostMemo } from './host-memo.js'
import { normalizeAddress, listenOrClose } from '../../shared/net/index.js'
import type { VisitorAdmission } from '../visitor-admission.js'
import { DETAILS, statusPage } from './pages.js'
import { VhostRouter, type RouterOptions } from './router.js'
import type { HttpVhostStats } from './stats.js'
import { RAW_LINGER_MS, VisitorConnection, type FleetForward, type Forward, type Refusal, type VhostCore, type VisitorSocket } from './visitor-connection.js'
import type { HttpRoute } from './vhost-route.js'
import type { VhostForwarder } from './fleet-forward.js'

export { VHOST_HEADERS_TIMEOUT_MS, VHOST_KEEPALIVE_TIMEOUT_MS, VHOST_MAX_HEADER_BYTES } from './visitor-connection.js'

export interface HttpVhostOptions {
  /** vhostHTTPTimeout: the service's response header must arrive within this after the request. */
  responseHeaderTimeoutMs: number
  /** custom404Page's contents, or undefined for the built-in page. */
  notFoundPage: string | undefined
  /** Domain reservations of the routing table (grace period, clock). */
  routing?: RouterOptions
}

type Resolved = Forward | { status: 400 | 404, host: string }

export class HttpVhost {
  readonly router: VhostRouter<HttpRoute>
  readonly #server: Server
  readonly #stats: HttpVhostStats
  readonly #options: HttpVhostOptions
  readonly #log: Logger
  readonly #upgraded = new Set<Duplex>()
  readonly #connections = new Set<VisitorConnection>()
  readonly #hosts = new HostMemo()
  readonly #core: VhostCore
  readonly #admitSocket: VisitorAdmission | undefined
  port = 0
  /** A fleet relay's way to the other relays: requests for hosts served elsewhere go there. */
  forwarder: VhostForwarder | undefined

  constructor (options: HttpVhostOptions, stats: HttpVhostStats, log: Logger, admit?: VisitorAdmission) {
    this.#options = options
    this.#stats = stats
    this.#log = log
    this.router = new VhostRouter<HttpRoute>(options.routing)
    this.#core = {
      admit: (head, visitor, viaFleet) => this.#admit(head, visitor, viaFleet),
      page: (status, host, detail) => this.#pageBody(status, host, detail),
      count: (what) => { this.#stats[what]++ },
      responseHeaderTimeoutMs: options.responseHeaderTimeoutMs,
      splice: (visitor, service) => { this.#splice(visitor, service) },
      debug: (route, fields, msg) => { (route?.log ?? this.#log).debug(fields, msg) },
    }
    this.#admitSocket = admit
    // allowHalfOpen: a visitor's end is handled by its connection (it ends the exchange).
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      // A shed socket is reset before any byte is read.
      if (admit !== undefined && !admit(socket)) return
      this.#serve(socket, normalizeAddress(socket.remoteAddress ?? ''), false)
    })
  }

  #serve (socket: VisitorSocket, visitor: string, viaFleet: boolean): void {
    const c = new VisitorConnection(socket, this.#core, visitor, viaFleet)
    this.#connections.add(c)
    socket.once('close', () => { this.#connections.delete(c) })
  }

  /**
   * A visitor connection another relay of the fleet forwarded here: it reads as the original
   * visitor's (address, port), passes this relay's admission, and its requests are never forwarded again.
   */
  acceptForwarded (socket: Duplex & { remoteAddress?: string, remotePort?: number }): void {
    // The admission sheds by the visitor's address and resets what it sheds (ForwardedDuplex has resetAndDestroy).
    if (this.#admitSocket !== undefined && !this.#admitSocket(socket as Socket)) return
    this.#serve(socket, normalizeAddress(socket.remoteAddress ?? ''), true)
  }

  async listen (host: string, port: number): Promise<number> {
    this.port = (await listenOrClose(this.#server, host, port)).port
    return this.port
  }

  /** Stops accepting (idle keep-alive connections close); requests in flight finish. */
  close (): void {
    this.#server.close()
    for (const c of this.#connections) c.stop()
  }

  destroy (): void {
    this.#server.close()
    for (const c of [...this.#connections]) c.destroy()
    this.#connections.clear()
    for (const s of this.#upgraded) s.destroy()
    this.#upgraded.clear()
  }

  // ---- routing ----

  #resolve (head: RequestHead): Resolved {
    const url = head.target
    const hostAt = head.names.indexOf('host')
    let authority = hostAt < 0 ? undefined : head.raw[2 * hostAt + 1]
    let path = url
    // origin-form starts with `/`; anything else may be absolute-form.
    const absolute = url.charCodeAt(0) !== 0x2f && /^https?:\/\//i.test(url)
    if (absolute) {
      // absolute-form: its authority wins over Host (RFC 9112 section 3.2.2).
      try {
        const u = new URL(url)
        authority = u.host
        path = `${u.pathname}${u.search}`
      } catch {
        return { status: 400, host: '' }
      }
    }
    if (hostAt >= 0 && head.names.indexOf('host', hostAt + 1) >= 0) return { status: 400, host: '' }
    const host = authority === undefined ? undefined : this.#hosts.get(authority)
    const routing = routingPath(url)
    if (host === undefined || authority === undefined || routing === undefined) return { status: 400, host: host ?? '' }
    const hit = this.router.lookup(host, routing, () => loosePath(url), routeUser(head, absolute))
    if (hit === undefined) return { status: 404, host }
    return { route: hit.target, host, hostHeader: authority, path }
  }

  /** The checks before forwarding: the request's route, a fleet forward, or the answer the relay gives itself. */
  #admit (head: RequestHead, visitor: string, viaFleet: boolean): Forward | FleetForward | Refusal {
    this.#stats.requests++
    const r = this.#resolve(head)
    // No proxy here: another relay of the fleet may serve the host (never for a request that came from one).
    const forwarder = this.forwarder
    if ('status' in r && r.status === 404 && !viaFleet && forwarder !== undefined) {
      const host = r.host
      return {
        host,
        open: async (from, listener) => await forwarder.open('http', host, from, listener),
        failed: () => { forwarder.failed('http', host) },
      }
    }
    if ('status' in r) {
      if (r.status === 404) this.#stats.notFound++
      else this.#stats.badRequest++
      this.#log.debug({ host: r.host, status: r.status, remote: visitor }, 'vhost request not routed')
      return r
    }
    if (!r.route.gate.admits(visitor)) {
      this.#stats.forbidden++
      return { status: 403, host: r.host }
    }
    if (r.route.auth !== undefined && !r.route.auth.check(headerValue(head, 'authorization'))) {
      this.#stats.unauthorized++
      return { status: 401, host: r.host, headers: { 'WWW-Authenticate': basicChallenge(r.host) } }
    }
    r.route.requests++
    return r
  }

  #pageBody (status: number, host: string, given?: string): string {
    if (given !== undefined) return statusPage(status, host, given)
    if (status === 404 && this.#options.notFoundPage !== undefined) return this.#options.notFoundPage
    const detail = status === 404
      ? DETAILS.notFound(host)
      : status === 502 ? DETAILS.badGateway : status === 504 ? DETAILS.gatewayTimeout : status === 401 ? DETAILS.unauthorized : status === 403 ? DETAILS.forbidden : status === 408 ? DETAILS.malformed : DETAILS.badRequest
    return statusPage(status, host, detail)
  }

  /** Bytes both ways until either side is gone. */
  #splice (visitor: Duplex, service: Duplex): void {
    this.#upgraded.add(visitor)
    const both = (): void => { visitor.destroy(); service.destroy() }
    visitor.on('error', both)
    service.on('error', both)
    visitor.once('close', () => { this.#upgraded.delete(visitor); service.destroy() })
    service.once('close', () => {
      // Ended cleanly: the visitor got the end and may finish its side; otherwise it is cut off.
      if (!visitor.writableEnded) visitor.destroy()
      else setTimeout(() => { visitor.destroy() }, RAW_LINGER_MS).unref()
    })
    visitor.pipe(service)
    service.pipe(visitor)
  }
}

/**
 * The user a request is routed by (routeByHTTPUser), as frp: for an absolute-form (proxy-style)
 * request the Proxy-Authorization user, else (or without one) the Authorization (basic) user;
 * '' when there is none. Only routing: the route's own credentials are checked afterwards.
 */
function routeUser (head: RequestHead, absolute: boolean): string {
  const proxyAuth = headerValue(head, 'proxy-authorization')
  if (absolute && proxyAuth !== undefined && proxyAuth !== '') return parseBasicAuth(proxyAuth)?.user ?? ''
  return parseBasicAuth(headerValue(head, 'authorization'))?.user ?? ''
}
