// The relay's HTTP virtual-host port (frp's vhostHTTPPort). node:http parses what visitors send
// (keep-alive, chunked bodies, pipelining, bounded headers); every request is routed on its own by
// Host and path (router.ts), so one visitor connection may reach different proxies request by
// request. The request goes on to the owning client through that proxy's Upstream (pooled mux
// streams) with hop-by-hop headers dropped and X-Forwarded-For / X-Real-IP / X-Forwarded-Proto /
// X-Forwarded-Host set; bodies stream both ways with back-pressure (pipe). WebSocket and other
// upgrades become a byte pipe after the service's 101. The relay answers itself only when it must:
// 400 (no usable host or path), 404 (no proxy), 401 (basic auth), 403 (source filter), 502 (client
// or service unreachable), 504 (no response header within vhostHTTPTimeout); all are counted.
import { createServer, request, STATUS_CODES, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { basicChallenge, parseBasicAuth } from './basic-auth.js'
import { appendForwardedFor, endToEnd, headerValues, setHeader, setHeaders } from './header-rewrite.js'
import { hostFromHeader, loosePath, routingPath } from '../../shared/http/index.js'
import { normalizeAddress, listenOrClose } from '../../shared/net/index.js'
import type { VisitorAdmission } from '../visitor-admission.js'
import { DETAILS, statusPage } from './pages.js'
import { VhostRouter, type RouterOptions } from './router.js'
import type { HttpVhostStats } from './stats.js'
import { UPSTREAM_HOST, UPSTREAM_PORT } from './upstream.js'
import type { HttpRoute } from './vhost-route.js'

/** Request (and response) header bytes at most, as node's default. */
export const VHOST_MAX_HEADER_BYTES = 16 * 1024
/** A visitor must send a request's headers within this (slow-header attacks). */
export const VHOST_HEADERS_TIMEOUT_MS = 30_000
/** An idle keep-alive visitor connection is closed after this. */
export const VHOST_KEEPALIVE_TIMEOUT_MS = 30_000
/** A refused upgrade connection is destroyed this long after its answer, if the visitor lingers. */
const RAW_LINGER_MS = 5_000

export interface HttpVhostOptions {
  /** vhostHTTPTimeout: the service's response header must arrive within this after the request. */
  responseHeaderTimeoutMs: number
  /** custom404Page's contents, or undefined for the built-in page. */
  notFoundPage: string | undefined
  /** Domain reservations of the routing table (grace period, clock). */
  routing?: RouterOptions
}

interface Target {
  route: HttpRoute
  /** Normalised host (for pages and logs). */
  host: string
  /** The Host as the visitor sent it (with its port), or the authority of an absolute-form target. */
  hostHeader: string
  /** The request target to send on: origin-form. */
  path: string
}

type Resolved = Target | { status: 400 | 404, host: string }

class ResponseTimeout extends Error {}

export class HttpVhost {
  readonly router: VhostRouter<HttpRoute>
  readonly #server: Server
  readonly #stats: HttpVhostStats
  readonly #options: HttpVhostOptions
  readonly #log: Logger
  readonly #upgraded = new Set<Duplex>()
  port = 0

  constructor (options: HttpVhostOptions, stats: HttpVhostStats, log: Logger, admit?: VisitorAdmission) {
    this.#options = options
    this.#stats = stats
    this.#log = log
    this.router = new VhostRouter<HttpRoute>(options.routing)
    this.#server = createServer({
      maxHeaderSize: VHOST_MAX_HEADER_BYTES,
      // Uploads and downloads may take as long as they take; idle visitors are bounded below.
      requestTimeout: 0,
      headersTimeout: VHOST_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: VHOST_KEEPALIVE_TIMEOUT_MS,
      noDelay: true,
      // A missing Host gets our own 400 page.
      requireHostHeader: false,
    })
    // Runs after http's own connection listener: a shed socket is reset before any byte is read.
    if (admit !== undefined) this.#server.on('connection', (socket: Socket) => { admit(socket) })
    this.#server.on('request', (req, res) => { this.#onRequest(req, res, false) })
    this.#server.on('checkContinue', (req, res) => { this.#onRequest(req, res, true) })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.#onUpgrade(req, socket, head) })
    // Unparsable requests and heads over the size limit: counted, and answered with our page.
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      this.#stats.badRequest++
      if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return }
      this.#rawPage(socket, err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400, '', {}, DETAILS.malformed)
    })
  }

  async listen (host: string, port: number): Promise<number> {
    this.port = (await listenOrClose(this.#server, host, port)).port
    return this.port
  }

  /** Stops accepting (idle keep-alive connections close); requests in flight finish. */
  close (): void {
    this.#server.close()
  }

  destroy (): void {
    this.#server.close()
    this.#server.closeAllConnections()
    for (const s of this.#upgraded) s.destroy()
    this.#upgraded.clear()
  }

  // ---- routing ----

  #resolve (req: IncomingMessage): Resolved {
    const url = req.url ?? '/'
    let authority = req.headers.host
    let path = url
    const absolute = /^https?:\/\//i.test(url)
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
    if (headerValues(req.rawHeaders, 'host').length > 1) return { status: 400, host: '' }
    const host = authority === undefined ? undefined : hostFromHeader(authority)
    const routing = routingPath(url)
    if (host === undefined || authority === undefined || routing === undefined) return { status: 400, host: host ?? '' }
    const hit = this.router.lookup(host, routing, loosePath(url), routeUser(req, absolute))
    if (hit === undefined) return { status: 404, host }
    return { route: hit.target, host, hostHeader: authority, path }
  }

  /** The checks before forwarding; answers and returns undefined when the request stops here. */
  #admit (req: IncomingMessage, visitor: string, answer: (status: number, host: string, headers?: Record<string, string>) => void): Target | undefined {
    this.#stats.requests++
    const r = this.#resolve(req)
    if ('status' in r) {
      if (r.status === 404) this.#stats.notFound++
      else this.#stats.badRequest++
      this.#log.debug({ host: r.host, status: r.status, remote: visitor }, 'vhost request not routed')
      answer(r.status, r.host)
      return undefined
    }
    if (!r.route.gate.admits(visitor)) {
      this.#stats.forbidden++
      answer(403, r.host)
      return undefined
    }
    if (r.route.auth !== undefined && !r.route.auth.check(req.headers.authorization)) {
      this.#stats.unauthorized++
      answer(401, r.host, { 'WWW-Authenticate': basicChallenge(r.host) })
      return undefined
    }
    r.route.requests++
    return r
  }

  #requestHeaders (req: IncomingMessage, t: Target, visitor: string): string[] {
    const drop = new Set(['expect'])
    // The relay consumed the credentials; the service does not get the proxy's password.
    if (t.route.auth !== undefined) drop.add('authorization')
    let h = endToEnd(req.rawHeaders, drop)
    h = setHeader(h, 'Host', t.route.hostHeaderRewrite ?? t.hostHeader)
    h = setHeader(h, 'X-Forwarded-For', appendForwardedFor(req.rawHeaders, visitor))
    h = setHeader(h, 'X-Real-IP', visitor)
    h = setHeader(h, 'X-Forwarded-Proto', 'http')
    h = setHeader(h, 'X-Forwarded-Host', t.hostHeader)
    h = setHeaders(h, t.route.requestHeaders)
    // node:http decoded a chunked body; say so again and it is chunked again on the way out.
    const te = req.headers['transfer-encoding']
    if (te !== undefined) h.push('Transfer-Encoding', te)
    return h
  }

  #open (req: IncomingMessage, t: Target, headers: string[], visitor: string): ClientRequest {
    t.route.upstream.visitor = { address: visitor, port: req.socket.remotePort ?? 0 }
    return request({
      agent: t.route.upstream,
      host: UPSTREAM_HOST,
      port: UPSTREAM_PORT,
      method: req.method ?? 'GET',
      path: t.path,
      headers,
      setHost: false,
      maxHeaderSize: VHOST_MAX_HEADER_BYTES,
    })
  }

  // ---- plain requests ----

  #onRequest (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const visitor = normalizeAddress(req.socket.remoteAddress ?? '')
    const t = this.#admit(req, visitor, (status, host, headers) => { this.#page(req, res, status, host, headers) })
    if (t === undefined) return
    if (expectContinue) res.writeContinue()
    req.on('error', () => { res.destroy() })
    this.#forward(req, res, t, visitor, 0)
  }

  #forward (req: IncomingMessage, res: ServerResponse, t: Target, visitor: string, attempt: number): void {
    let ureq: ClientRequest
    try {
      ureq = this.#open(req, t, this.#requestHeaders(req, t, visitor), visitor)
    } catch (err) {
      // node:http refused to write what node:http parsed (it should not happen): not the visitor's fault.
      this.#failed(req, res, t, err as Error)
      return
    }
    let responded = false
    let visitorGone = false
    let timer: NodeJS.Timeout | undefined
    const onVisitorGone = (): void => { if (!res.writableFinished) { visitorGone = true; ureq.destroy() } }
    res.once('close', onVisitorGone)
    ureq.once('finish', () => {
      // The response-header clock starts when the whole request is out (unless it is already here).
      if (responded) return
      timer = setTimeout(() => { ureq.destroy(new ResponseTimeout(`no response header within ${this.#options.responseHeaderTimeoutMs} ms`)) }, this.#options.responseHeaderTimeoutMs)
    })
    ureq.once('close', () => { clearTimeout(timer) })
    ureq.once('response', (ures) => {
      responded = true
      clearTimeout(timer)
      this.#respond(req, res, ures, t)
    })
    ureq.on('error', (err) => {
      clearTimeout(timer)
      if (responded || visitorGone) { res.destroy(); return } // not the service's fault: no 502 counted
      // An idle pooled stream the service closed just as it was taken: try once on a new one,
      // when nothing of the request is lost (no body).
      if (attempt === 0 && ureq.reusedSocket && !hasBody(req) && IDEMPOTENT.has(req.method ?? '') && isStaleStream(err) && !res.headersSent && !res.destroyed) {
        res.off('close', onVisitorGone)
        this.#forward(req, res, t, visitor, 1)
        return
      }
      this.#failed(req, res, t, err)
    })
    if (hasBody(req)) req.pipe(ureq)
    else ureq.end()
  }

  #respond (req: IncomingMessage, res: ServerResponse, ures: IncomingMessage, t: Target): void {
    if (res.destroyed) { ures.destroy(); return }
    try {
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage ?? '', setHeaders(endToEnd(ures.rawHeaders), t.route.responseHeaders))
    } catch (err) {
      ures.destroy()
      this.#failed(req, res, t, err as Error)
      return
    }
    ures.on('error', () => { res.destroy() })
    ures.once('close', () => { if (!ures.complete) res.destroy() })
    ures.pipe(res)
  }

  #failed (req: IncomingMessage, res: ServerResponse, t: Target, err: Error): void {
    const timeout = err instanceof ResponseTimeout
    if (timeout) this.#stats.gatewayTimeout++
    else this.#stats.badGateway++
    t.route.log.debug({ host: t.host, code: (err as { code?: unknown }).code, err: err.message }, timeout ? 'vhost request timed out' : 'vhost request failed')
    if (res.headersSent || res.destroyed) { res.destroy(); return }
    this.#page(req, res, timeout ? 504 : 502, t.host)
  }

  #page (req: IncomingMessage, res: ServerResponse, status: number, host: string, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) { res.destroy(); return }
    const body = this.#pageBody(status, host)
    // An unread request body would be read and thrown away to keep the connection: close instead.
    const close = hasBody(req) || status === 400 ? { Connection: 'close' } : {}
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...close, ...headers })
    res.end(body)
  }

  #pageBody (status: number, host: string): string {
    if (status === 404 && this.#options.notFoundPage !== undefined) return this.#options.notFoundPage
    const detail = status === 404
      ? DETAILS.notFound(host)
      : status === 502 ? DETAILS.badGateway : status === 504 ? DETAILS.gatewayTimeout : status === 401 ? DETAILS.unauthorized : status === 403 ? DETAILS.forbidden : DETAILS.badRequest
    return statusPage(status, host, detail)
  }

  // ---- upgrades (WebSocket) ----

  #onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => { socket.destroy() })
    const visitor = normalizeAddress((socket as Socket).remoteAddress ?? '')
    const t = this.#admit(req, visitor, (status, host, headers) => { this.#rawPage(socket, status, host, headers) })
    if (t === undefined) return
    // An upgrade carries no body (h2c with a POST body is not passed on): a body would be lost,
    // and the service would wait for it until the 504.
    if (hasBody(req)) {
      this.#stats.badRequest++
      this.#rawPage(socket, 400, t.host, {}, DETAILS.upgradeWithBody)
      return
    }
    let headers = this.#requestHeaders(req, t, visitor)
    headers = setHeader(headers, 'Connection', 'Upgrade')
    headers = setHeader(headers, 'Upgrade', req.headers.upgrade ?? '')
    let ureq: ClientRequest
    try {
      ureq = this.#open(req, t, headers, visitor)
    } catch {
      this.#stats.badGateway++
      this.#rawPage(socket, 502, t.host)
      return
    }
    let answered = false
    const timer = setTimeout(() => { ureq.destroy(new ResponseTimeout('no answer to the upgrade in time')) }, this.#options.responseHeaderTimeoutMs)
    const onVisitorGone = (): void => { if (!answered) ureq.destroy() }
    socket.once('close', onVisitorGone)
    ureq.once('upgrade', (ures: IncomingMessage, usock: Duplex, uhead: Buffer) => {
      answered = true
      clearTimeout(timer)
      this.#stats.upgrades++
      const h = setHeaders([...ures.rawHeaders], t.route.responseHeaders)
      socket.write(responseHead(ures, h))
      if (uhead.length > 0) socket.write(uhead)
      if (head.length > 0) usock.write(head)
      this.#splice(socket, usock)
    })
    ureq.once('response', (ures) => {
      // The service said no to the upgrade: pass its answer on, then close.
      answered = true
      clearTimeout(timer)
      const h = setHeader(setHeaders(endToEnd(ures.rawHeaders), t.route.responseHeaders), 'Connection', 'close')
      socket.write(responseHead(ures, h))
      ures.on('error', () => { socket.destroy() })
      socket.once('close', () => { ures.destroy() })
      // The visitor may keep its half open (allowHalfOpen): it goes a moment after the answer.
      ures.once('end', () => { setTimeout(() => { socket.destroy() }, RAW_LINGER_MS).unref() })
      ures.pipe(socket)
    })
    ureq.on('error', (err) => {
      clearTimeout(timer)
      if (answered) { socket.destroy(); return }
      const timeout = err instanceof ResponseTimeout
      if (timeout) this.#stats.gatewayTimeout++
      else this.#stats.badGateway++
      this.#rawPage(socket, timeout ? 504 : 502, t.host)
    })
    ureq.end()
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

  #rawPage (socket: Duplex, status: number, host: string, headers: Record<string, string> = {}, detail?: string): void {
    if (socket.destroyed) return
    const body = detail === undefined ? this.#pageBody(status, host) : statusPage(status, host, detail)
    const lines = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      'Content-Type: text/html; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ]
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
    setTimeout(() => { socket.destroy() }, RAW_LINGER_MS).unref()
  }
}

/** Methods that may be sent again when a pooled stream turned out dead (as Go's Transport does). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

/** The service closed the idle stream as it was taken (not a timeout, not a malformed answer). */
function isStaleStream (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code
  // node:http's "socket hang up" carries ECONNRESET too: recognised by code, not by its text.
  return !(err instanceof ResponseTimeout) && code === 'ECONNRESET'
}

/**
 * The user a request is routed by (routeByHTTPUser), as frp: for an absolute-form (proxy-style)
 * request the Proxy-Authorization user, else (or without one) the Authorization (basic) user;
 * '' when there is none. Only routing: the route's own credentials are checked afterwards.
 */
function routeUser (req: IncomingMessage, absolute: boolean): string {
  const proxyAuth = req.headers['proxy-authorization']
  if (absolute && proxyAuth !== undefined && proxyAuth !== '') return parseBasicAuth(proxyAuth)?.user ?? ''
  return parseBasicAuth(req.headers.authorization)?.user ?? ''
}

/** Whether the visitor's request carries a body (node:http frames it by these two headers). */
function hasBody (req: IncomingMessage): boolean {
  const len = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0')
}

function responseHead (res: IncomingMessage, headers: readonly string[]): string {
  const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`]
  for (let i = 0; i + 1 < headers.length; i += 2) lines.push(`${headers[i] ?? ''}: ${headers[i + 1] ?? ''}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}
