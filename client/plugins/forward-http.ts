// Passes one HTTP request on to an upstream (the local service of http2http, http2https,
// https2http, https2https; the target of an http_proxy absolute-form request) and its response
// back, bodies streamed with back-pressure both ways. Hop-by-hop headers (and those the
// Connection header names, and HTTP/2 pseudo-headers) are not passed on. An upstream that cannot
// be reached is a 502; one that sends no response head within PLUGIN_UPSTREAM_TIMEOUT_MS a 504.
// WebSocket (any Upgrade) requests on HTTP/1.1 become a byte pipe once the upstream answers 101.
import type { Agent, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { nodeHttp, nodeHttps } from '../../shared/lazy-builtins.js'
import type { AnyRequest, AnyResponse } from './http-serve.js'
import { pipeBoth } from './splice.js'

/** Seconds' worth of waiting for an upstream's response head (as the relay's vhostHTTPTimeout default). */
export const PLUGIN_UPSTREAM_TIMEOUT_MS = 60_000
/** Connections a plugin keeps to its upstream (or to proxy targets) at most, in use and idle. */
export const MAX_UPSTREAM_SOCKETS = 256
/** Idle upstream connections kept for reuse at most. */
export const MAX_IDLE_UPSTREAM_SOCKETS = 32

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'host'])

export interface Upstream {
  secure: boolean
  host: string
  port: number
  /** TLS server name for a secure upstream (its certificate is not checked, as in frp). */
  servername?: string | undefined
}

/** A keep-alive agent for one plugin's upstream connections (destroy() it with the plugin). */
export function upstreamAgent (secure: boolean): Agent {
  const options = { keepAlive: true, maxSockets: MAX_UPSTREAM_SOCKETS, maxFreeSockets: MAX_IDLE_UPSTREAM_SOCKETS, scheduling: 'lifo' as const }
  return secure ? new (nodeHttps().Agent)({ ...options, rejectUnauthorized: false }) : new (nodeHttp().Agent)(options)
}

/** The end-to-end headers of a message (hop-by-hop, Connection-named and pseudo-headers dropped; Host too: callers set it). */
export function endToEnd (headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || named.has(name)) continue
    out[name] = value
  }
  return out
}

/** The Host a request was sent to (HTTP/1.1 Host, or HTTP/2's :authority). */
export function hostOf (req: AnyRequest): string {
  const h = req.headers
  return String(h.host ?? h[':authority'] ?? '')
}

/** A small plain-text answer of the plugin itself (an error, a refusal). */
export function answer (res: AnyResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) { res.destroy(); return }
  const body = `${text}\n`
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

function send (upstream: Upstream, agent: Agent, method: string, path: string, headers: OutgoingHttpHeaders, host: string) {
  const options = { host: upstream.host, port: upstream.port, method, path, agent, headers: { ...headers, host }, setHost: false }
  return upstream.secure
    ? nodeHttps().request({ ...options, rejectUnauthorized: false, ...(upstream.servername === undefined ? {} : { servername: upstream.servername }) })
    : nodeHttp().request(options)
}

/** Sends `req` to the upstream with `headers` (end-to-end ones already filtered) and pipes the answer into `res`. */
export function forward (req: AnyRequest, res: AnyResponse, upstream: Upstream, agent: Agent, path: string, headers: OutgoingHttpHeaders, host: string, onFailure: (err: Error) => void): void {
  const out = send(upstream, agent, req.method ?? 'GET', path, headers, host)
  let answered = false
  const timer = setTimeout(() => {
    out.destroy(Object.assign(new Error(`no response head within ${PLUGIN_UPSTREAM_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }))
  }, PLUGIN_UPSTREAM_TIMEOUT_MS)
  out.on('response', (up: IncomingMessage) => {
    clearTimeout(timer)
    answered = true
    res.writeHead(up.statusCode ?? 502, endToEnd(up.headers))
    up.on('error', () => { res.destroy() })
    up.pipe(res)
  })
  out.on('error', (err: Error) => {
    clearTimeout(timer)
    if (answered || res.headersSent) { res.destroy(); return }
    onFailure(err)
    const timedOut = (err as NodeJS.ErrnoException).code === 'ETIMEDOUT'
    answer(res, timedOut ? 504 : 502, timedOut ? 'the local service did not answer in time' : 'the local service cannot be reached')
  })
  res.on('close', () => {
    clearTimeout(timer)
    if (!res.writableEnded) out.destroy()
  })
  req.pipe(out)
}

/** HTTP/1.1 Upgrade (WebSocket): the upstream's 101 and then bytes both ways; anything else is passed on and the connection closed. */
export function forwardUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, agent: Agent, path: string, headers: OutgoingHttpHeaders, host: string, onFailure: (err: Error) => void): void {
  const upgrade = { ...headers, connection: 'upgrade', upgrade: String(req.headers.upgrade ?? '') }
  const out = send(upstream, agent, req.method ?? 'GET', path, upgrade, host)
  socket.on('error', () => {})
  const timer = setTimeout(() => { out.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })) }, PLUGIN_UPSTREAM_TIMEOUT_MS)
  out.on('upgrade', (up: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    clearTimeout(timer)
    const lines = [`HTTP/1.1 101 ${up.statusMessage ?? 'Switching Protocols'}`]
    for (let i = 0; i + 1 < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i] ?? ''}: ${up.rawHeaders[i + 1] ?? ''}`)
    socket.write(lines.join('\r\n') + '\r\n\r\n')
    if (upHead.length > 0) socket.write(upHead)
    if (head.length > 0) upSocket.write(head)
    pipeBoth(socket, upSocket)
  })
  out.on('response', (up: IncomingMessage) => {
    clearTimeout(timer)
    const lines = [`HTTP/1.1 ${up.statusCode ?? 502} ${up.statusMessage ?? ''}`, 'connection: close']
    for (const [k, v] of Object.entries(endToEnd(up.headers))) lines.push(`${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    socket.write(lines.join('\r\n') + '\r\n\r\n')
    up.pipe(socket)
  })
  out.on('error', (err: Error) => {
    clearTimeout(timer)
    onFailure(err)
    socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
  })
  socket.once('close', () => { clearTimeout(timer); out.destroy() })
  out.end()
}

export type { ServerResponse }
