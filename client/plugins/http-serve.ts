// node:http servers that never listen: a plugin that speaks HTTP to visitors (static_file,
// http2http, http2https, http_proxy's plain requests) hands each visitor stream to one as a
// Duplex; the TLS ones (https2http, https2https) end TLS first and hand the TLS socket to an
// HTTP/2 server that also speaks HTTP/1.1. Bounds: request heads of MAX_PLUGIN_HEADER_BYTES,
// heads complete within PLUGIN_HEADERS_TIMEOUT_MS, TLS handshakes within
// PLUGIN_TLS_HANDSHAKE_TIMEOUT_MS, idle keep-alive connections closed after
// PLUGIN_KEEP_ALIVE_TIMEOUT_MS.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Server as NetServer } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'
import { nodeHttp, nodeHttp2, nodeTls } from '../../shared/lazy-builtins.js'
import { MuxDuplex } from '../../shared/mux/index.js'
import type { PluginConn } from './plugin.js'

/** Longest request head (request line and headers) a plugin's HTTP server reads. */
export const MAX_PLUGIN_HEADER_BYTES = 16 * 1024
/** A request head must be complete this long after the connection (or the previous request). */
export const PLUGIN_HEADERS_TIMEOUT_MS = 30_000
/** A whole request (head and body) must arrive within this. */
export const PLUGIN_REQUEST_TIMEOUT_MS = 300_000
/** An idle keep-alive connection is closed after this. */
export const PLUGIN_KEEP_ALIVE_TIMEOUT_MS = 30_000
/** A visitor's TLS handshake must be done within this. */
export const PLUGIN_TLS_HANDSHAKE_TIMEOUT_MS = 10_000
/** Header lines of one request at most (node's default is 2000). */
export const MAX_PLUGIN_HEADER_LINES = 200
/** Memory one HTTP/2 visitor session may hold (node's unit: megabytes). */
export const MAX_PLUGIN_H2_SESSION_MEGABYTES = 10
/** Every check of the header and request deadlines runs this often. */
const CONNECTIONS_CHECK_MS = 1_000

/** Where the visitor's address hangs on the socket a request arrives on (plain or TLS; reachable through HTTP/2's socket proxy). */
const VISITOR = Symbol('tunnel.visitor')
type Tagged = { [VISITOR]?: string }

/** The visitor's address of a request served by one of these servers ('' when unknown). */
export function visitorOf (req: IncomingMessage | Http2ServerRequest): string {
  return (req.socket as unknown as Tagged)[VISITOR] ?? ''
}

export type AnyRequest = IncomingMessage | Http2ServerRequest
export type AnyResponse = ServerResponse | Http2ServerResponse

function bound (server: Server): void {
  server.maxHeadersCount = MAX_PLUGIN_HEADER_LINES
  server.headersTimeout = PLUGIN_HEADERS_TIMEOUT_MS
  server.requestTimeout = PLUGIN_REQUEST_TIMEOUT_MS
  server.keepAliveTimeout = PLUGIN_KEEP_ALIVE_TIMEOUT_MS
  ;(server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CONNECTIONS_CHECK_MS
  // node:http checks the header and request deadlines only once the server is listening; these
  // never listen (connections are handed in), so start the checks as listening would.
  server.emit('listening')
}

/** An HTTP/1.1 server fed with visitor streams; closeServer() stops it. */
export function plainServer (handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = nodeHttp().createServer({ maxHeaderSize: MAX_PLUGIN_HEADER_BYTES }, handler)
  bound(server)
  return server
}

/** An HTTPS server (HTTP/2 when `http2` and the visitor offers it, else HTTP/1.1) fed with TLS sockets by serveTls(). */
export function tlsServer (handler: (req: AnyRequest, res: AnyResponse) => void): Http2SecureServer {
  const server = nodeHttp2().createSecureServer({ allowHTTP1: true, maxSessionMemory: MAX_PLUGIN_H2_SESSION_MEGABYTES, settings: { maxHeaderListSize: MAX_PLUGIN_HEADER_BYTES } }, handler)
  bound(server as unknown as Server) // the HTTP/1.1 side has node:http's fields and checks
  return server
}

/** The visitor's stream as a Duplex, tagged with the visitor's address; conn.done() when it closes. */
export function visitorDuplex (conn: PluginConn, rest?: { rest: Buffer, ended: boolean }): MuxDuplex {
  const duplex = new MuxDuplex(conn.stream)
  ;(duplex as unknown as Tagged)[VISITOR] = conn.visitorAddress
  duplex.on('error', () => {}) // a reset visitor; the server sees the close
  duplex.once('close', () => { conn.done() })
  if (rest !== undefined) {
    if (rest.rest.length > 0) duplex.unshift(rest.rest)
    if (rest.ended) duplex.push(null)
  }
  return duplex
}

/** Serves the visitor (its stream already accepted) with a plain HTTP server; returns the Duplex the server got. */
export function serveHttp (server: Server, conn: PluginConn, rest?: { rest: Buffer, ended: boolean }): MuxDuplex {
  const duplex = visitorDuplex(conn, rest)
  server.emit('connection', duplex)
  return duplex
}

/** Ends TLS on the visitor's stream, then hands the TLS socket to `onSecure` (or drops it after the handshake deadline). */
export function acceptTls (conn: PluginConn, context: SecureContext, alpn: string[] | undefined, onSecure: (socket: TLSSocket) => void, onFail: (why: string) => void, server?: Http2SecureServer): void {
  conn.stream.accept()
  const duplex = visitorDuplex(conn)
  // `server`: the HTTP/1.1 side of an HTTP/2 server reads its settings from socket.server.
  const socket = new (nodeTls().TLSSocket)(duplex, { isServer: true, secureContext: context, ...(alpn === undefined ? {} : { ALPNProtocols: alpn }), ...(server === undefined ? {} : { server: server as unknown as NetServer }) })
  ;(socket as unknown as Tagged)[VISITOR] = conn.visitorAddress
  let secured = false
  const timer = setTimeout(() => {
    onFail(`no TLS handshake within ${PLUGIN_TLS_HANDSHAKE_TIMEOUT_MS} ms`)
    socket.destroy()
  }, PLUGIN_TLS_HANDSHAKE_TIMEOUT_MS)
  socket.on('error', (err: Error) => {
    if (secured) return // after the handshake: the user of the socket sees the close
    clearTimeout(timer)
    onFail(`TLS handshake failed: ${err.message}`)
  })
  socket.once('close', () => {
    clearTimeout(timer)
    if (!duplex.destroyed) duplex.destroy()
  })
  socket.once('secure', () => {
    secured = true
    clearTimeout(timer)
    onSecure(socket)
  })
}

/** Serves a visitor's TLS socket with an HTTPS server made by tlsServer(). */
export function serveTls (server: Http2SecureServer, socket: TLSSocket): void {
  // As node's own TLS server does on a handshake's end (_tls_wrap.js, onServerSocketSecure): a
  // socket still marked as connecting makes HTTP/2 wait for a 'secureConnect' a server-side
  // socket never emits, and then fail on the first bytes.
  ;(socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false
  server.emit('secureConnection', socket)
}

/** Stops a server made here (its deadline checks); the connections go with their streams. */
export function closeServer (server: Server | Http2SecureServer): void {
  server.close(() => { /* never listened: ERR_SERVER_NOT_RUNNING is expected */ })
}
