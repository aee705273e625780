// The admin API's HTTP server, generic: routing by method and path, authentication, request
// limits, the bind rules, and safe error answers. What a route answers is decided by the
// composition root (relay or client); this module knows nothing about either.
//
// Order of checks for every request: Host (a loopback-bound API answers only loopback names, so
// a web page cannot reach it through DNS rebinding), Origin (only the API's own pages, the
// dashboard, may call it from a browser: a request from any other origin is refused, and so is
// one a browser marks cross-site), credentials (401 + WWW-Authenticate, before anything about
// the routes is revealed), route (404, or 405 with Allow), body size (413), then the handler
// (500 on a crash, logged without the request's headers).
//
// On a non-loopback address without credentials (frp's monitoring setup: webServer.addr 0.0.0.0,
// no user/password) the server starts, with a warning (TUN_ADMIN_INSECURE), and serves only
// PUBLIC_PATHS (/metrics, which the composition root then builds without per-proxy and
// per-client series); every other path, known or not, answers 401 naming webServer.user/password.
//
// Connections: at most MAX_ADMIN_CONNECTIONS at once, and one with no request in flight (idle,
// or still sending its headers) is closed after ADMIN_IDLE_TIMEOUT_MS. When the table is full a
// new connection closes the connection idle the longest instead of being turned away, so idle
// connections cannot keep an operator's request out; only when every connection is serving a
// request is the newcomer closed.
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { TunnelError } from '../errors.js'
import { nodeHttp } from '../lazy-builtins.js'
import { formatHostPort, listenError, listenTcp } from '../net/index.js'
import { ADMIN_REALM, authorize, authSchemes, challenges, type AdminCredentials } from './auth.js'
import { adminBindProblem, adminOpenWithoutCredentials, isLoopbackHost } from '../config/index.js'
import { METRICS_PATH } from './endpoints.js'
import { errorResponse, MAX_BODY_BYTES, readBody, writeResponse, type AdminResponse } from './http.js'

/** Connections at once; the admin API is for a handful of operators and one scraper. */
export const MAX_ADMIN_CONNECTIONS = 32
/** A connection without a request in flight (idle keep-alive, or headers still coming) is closed after this. */
export const ADMIN_IDLE_TIMEOUT_MS = 5_000
export const MAX_HEADER_BYTES = 16 * 1024
export const HEADERS_TIMEOUT_MS = 10_000
export const REQUEST_TIMEOUT_MS = 15_000

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

/**
 * What an admin server on a non-loopback address without credentials still serves: read-only,
 * listing no tenant (there is no health endpoint; /metrics answers when the API is up).
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([METRICS_PATH])

export interface AdminRequest {
  method: Method
  path: string
  query: URLSearchParams
  body: Buffer
  headers: IncomingHttpHeaders
  /** Aborted when the caller goes away (a long diagnostic can stop early). */
  signal: AbortSignal
}

export interface AdminRoute {
  method: Method
  /** The exact path, or a folder ending in `/*`: any one segment below it (`/api/store/proxies/*`). */
  path: string
  /** Largest body read (413 above); default MAX_BODY_BYTES. */
  maxBodyBytes?: number
  handle: (req: AdminRequest) => AdminResponse | Promise<AdminResponse>
}

/** What a side serves, and what to stop when the server closes (history samplers). */
export interface AdminRouteSet {
  routes: AdminRoute[]
  stop?: () => void
}

export interface AdminServerOptions {
  addr: string
  /** 0 = any free port (the bound port is in `address` and the log line). */
  port: number
  credentials: AdminCredentials
  routes: readonly AdminRoute[]
  log: Logger
  /** Extra fields for the `admin listening` line (e.g. which routes are on). */
  logFields?: Record<string, unknown>
  /** Called once by close() (stops what the routes run in the background). */
  onClose?: () => void
}

export interface AdminAddress {
  address: string
  port: number
}

export class AdminServer {
  readonly #options: AdminServerOptions
  readonly #server: Server
  readonly #routes = new Map<string, Map<Method, AdminRoute>>()
  readonly #loopbackOnly: boolean
  /** Non-loopback without credentials: only PUBLIC_PATHS are served, the rest answers 401. */
  readonly #publicOnly: boolean
  /** Open connections, the one idle the longest first: requests in flight and the idle timer. */
  readonly #connections = new Map<Socket, { busy: number, timer: NodeJS.Timeout | undefined }>()
  #address: AdminAddress | undefined
  /** Connections closed for being idle, by the timer or to make room. */
  idleClosed = 0

  constructor (options: AdminServerOptions) {
    this.#options = options
    for (const r of options.routes) {
      const byMethod = this.#routes.get(r.path) ?? new Map<Method, AdminRoute>()
      byMethod.set(r.method, r)
      this.#routes.set(r.path, byMethod)
    }
    this.#loopbackOnly = isLoopbackHost(options.addr)
    this.#publicOnly = adminOpenWithoutCredentials({ addr: options.addr, password: options.credentials.password, token: options.credentials.token })
    this.#server = nodeHttp().createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
      this.#onRequest(req, res).catch((err: unknown) => {
        this.#options.log.warn({ err: (err as Error).message }, 'admin request failed')
        if (!res.headersSent) writeResponse(res, errorResponse(500, 'TUN_ADMIN_REQUEST', 'internal error'))
        else res.destroy()
      })
    })
    this.#server.keepAliveTimeout = ADMIN_IDLE_TIMEOUT_MS
    this.#server.on('connection', (socket: Socket) => { this.#onConnection(socket) })
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => { this.#busy(req.socket, res) })
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      socket.destroy()
    })
  }

  get address (): AdminAddress | undefined { return this.#address }

  /** Connections open now. */
  get connections (): number { return this.#connections.size }

  #onConnection (socket: Socket): void {
    if (this.#connections.size >= MAX_ADMIN_CONNECTIONS) {
      const idle = [...this.#connections].find(([, c]) => c.busy === 0)?.[0]
      if (idle === undefined) { socket.destroy(); return } // every connection is serving a request
      this.idleClosed++
      idle.destroy()
      this.#forget(idle)
    }
    this.#connections.set(socket, { busy: 0, timer: undefined })
    this.#idle(socket)
    socket.once('close', () => { this.#forget(socket) })
  }

  /** A request arrived on `socket`: no idle timer until its response is done. */
  #busy (socket: Socket, res: ServerResponse): void {
    const c = this.#connections.get(socket)
    if (c === undefined) return
    c.busy++
    clearTimeout(c.timer)
    c.timer = undefined
    res.once('close', () => {
      c.busy--
      if (c.busy === 0 && this.#connections.has(socket)) this.#idle(socket)
    })
  }

  /** Starts the idle timer and moves the connection to the end of the eviction order. */
  #idle (socket: Socket): void {
    const c = this.#connections.get(socket)
    if (c === undefined) return
    this.#connections.delete(socket)
    this.#connections.set(socket, c)
    clearTimeout(c.timer)
    c.timer = setTimeout(() => {
      this.idleClosed++
      socket.destroy()
    }, ADMIN_IDLE_TIMEOUT_MS)
    c.timer.unref()
  }

  #forget (socket: Socket): void {
    clearTimeout(this.#connections.get(socket)?.timer)
    this.#connections.delete(socket)
  }

  /** Binds addr:port (warns TUN_ADMIN_INSECURE when it serves only PUBLIC_PATHS); throws TunnelError TUN_LISTEN / TUN_PORT_IN_USE. */
  async start (): Promise<AdminAddress> {
    const { addr, port, credentials, log } = this.#options
    const problem = adminBindProblem({ addr, password: credentials.password, token: credentials.token })
    if (problem !== undefined) log.warn({ code: 'TUN_ADMIN_INSECURE', publicPaths: [...PUBLIC_PATHS] }, problem)
    try {
      const bound = await listenTcp(this.#server, addr, port)
      this.#address = { address: bound.address, port: bound.port }
    } catch (err) {
      throw listenError(err, addr, port)
    }
    const auth = authSchemes(credentials)
    log.info({ addr: this.#address.address, port: this.#address.port, auth: auth.length === 0 ? 'none' : auth.join('+'), ...this.#options.logFields }, 'admin listening')
    return this.#address
  }

  /** `http://127.0.0.1:7500`, for messages and tests. */
  get url (): string | undefined {
    const a = this.#address
    return a === undefined ? undefined : `http://${formatHostPort(a.address, a.port)}`
  }

  async close (): Promise<void> {
    this.#options.onClose?.()
    if (!this.#server.listening) return
    await new Promise<void>((resolve) => {
      this.#server.close(() => { resolve() })
      this.#server.closeAllConnections()
    })
  }

  async #onRequest (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const r = await this.#answer(req, res)
    writeResponse(res, r)
    this.#options.log.debug({ method: req.method, path: (req.url ?? '').split('?')[0], status: r.status, ms: Math.round(performance.now() - started) }, 'admin request')
  }

  async #answer (req: IncomingMessage, res: ServerResponse): Promise<AdminResponse> {
    if (this.#loopbackOnly && !isLoopbackHost(hostOf(req.headers.host))) {
      return errorResponse(421, 'TUN_ADMIN_REQUEST', 'this admin API answers only requests addressed to a loopback name (Host: 127.0.0.1, [::1] or localhost)')
    }
    const foreign = foreignOrigin(req.headers, req.method)
    if (foreign !== undefined) return errorResponse(403, 'TUN_ADMIN_REQUEST', foreign)
    const { credentials } = this.#options
    if (this.#publicOnly && !PUBLIC_PATHS.has(pathOf(req.url))) {
      return errorResponse(401, 'TUN_ADMIN_AUTH', `this admin API listens on ${this.#options.addr} without credentials, so it serves only ${[...PUBLIC_PATHS].join(', ')}: set webServer.user and webServer.password (or webServer.token) to use the dashboard and /api/*`, { 'www-authenticate': `Basic realm="${ADMIN_REALM}", charset="UTF-8"` })
    }
    if (!authorize(req.headers.authorization, credentials)) {
      return errorResponse(401, 'TUN_ADMIN_AUTH', 'authentication required: basic auth (webServer.user/password) or a bearer token (webServer.token)', { 'www-authenticate': challenges(credentials) })
    }
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid')
    } catch {
      return errorResponse(400, 'TUN_ADMIN_REQUEST', 'malformed request target')
    }
    const byMethod = this.#routes.get(url.pathname) ?? this.#routes.get(url.pathname.replace(/\/[^/]+$/, '/*'))
    if (byMethod === undefined) return errorResponse(404, 'TUN_ADMIN_REQUEST', `no such endpoint: ${url.pathname.slice(0, 200)} (see docs/operations.md)`)
    const route = byMethod.get(req.method as Method)
    if (route === undefined) {
      const allow = [...byMethod.keys()].join(', ')
      return errorResponse(405, 'TUN_ADMIN_REQUEST', `${url.pathname} takes ${allow}`, { allow })
    }
    const body = await readBody(req, route.maxBodyBytes ?? MAX_BODY_BYTES)
    if (!body.ok) return errorResponse(413, 'TUN_ADMIN_REQUEST', 'request body too large')
    const gone = new AbortController()
    const onClose = (): void => { if (!res.writableFinished) gone.abort() }
    res.once('close', onClose)
    try {
      return await route.handle({ method: route.method, path: url.pathname, query: url.searchParams, body: body.body, headers: req.headers, signal: gone.signal })
    } catch (err) {
      if (err instanceof TunnelError) return errorResponse(500, err.code, err.message)
      throw err
    }
  }
}

/**
 * Why a request from a browser is refused, or undefined when it may pass: a request without
 * Origin (curl, the CLI, a browser's own navigation or same-origin GET) passes, and so does one
 * whose Origin is this API's own (`http://` + its Host: the dashboard's POSTs); anything else,
 * `null` included, is another page's. Sec-Fetch-Site, which browsers send and pages cannot
 * forge, must not say cross-site or same-site either, except for a person following a link to
 * the dashboard (a top-level GET navigation: the page then loads itself same-origin, and the
 * CSP's frame-ancestors keeps it out of frames).
 */
export function foreignOrigin (headers: IncomingHttpHeaders, method = 'GET'): string | undefined {
  const site = headers['sec-fetch-site']
  const followedLink = headers['sec-fetch-mode'] === 'navigate' && headers['sec-fetch-dest'] === 'document' && method === 'GET'
  if ((site === 'cross-site' || site === 'same-site') && !followedLink) return `requests from other web sites are refused (Sec-Fetch-Site: ${site})`
  const origin = headers.origin
  if (origin === undefined) return undefined
  const host = headers.host
  if (host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`) return undefined
  return 'requests from other web pages (an Origin other than this API\'s own) are refused'
}

/** The path of a request target, without the query ('' when it cannot be read). */
function pathOf (target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://admin.invalid').pathname
  } catch {
    return ''
  }
}

/** The host part of a Host header (`127.0.0.1:7500` → `127.0.0.1`, `[::1]:7500` → `[::1]`). */
export function hostOf (header: string | undefined): string {
  if (header === undefined) return ''
  if (header.startsWith('[')) {
    const end = header.indexOf(']')
    return end === -1 ? header : header.slice(0, end + 1)
  }
  const colon = header.indexOf(':')
  return colon === -1 ? header : header.slice(0, colon)
}
