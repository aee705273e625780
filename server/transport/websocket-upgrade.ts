// WebSocket clients on the relay's port: the HTTP upgrade request (GET /~!frp, as frp), read
// and checked here with a bound on its size, then handed to the ws library for the 101 answer and
// the framing. A request for another path gets 404, one without the upgrade 400; both close.
// Behind a reverse proxy listed in transport.websocket.trustedProxies, X-Forwarded-For names the
// client (the rightmost address that is not itself a trusted proxy); from anyone else it is
// ignored, so a client cannot choose the address the handshake limits count it under.
import { isIP, type Socket } from 'node:net'
import { createRequire } from 'node:module'
import type { WebSocket, WebSocketServer } from 'ws'
import { HandshakeError } from '../../shared/errors.js'
import { nodeHttp } from '../../shared/lazy-builtins.js'
import { MAX_WEBSOCKET_MESSAGE_BYTES, normalizeAddress, type SourceFilter, WEBSOCKET_PATH } from '../../shared/net/index.js'
import { readHandshakeMessage } from '../../shared/transport/index.js'

/** Longest upgrade request (request line and headers) read; nginx sends a few hundred bytes. */
export const MAX_UPGRADE_REQUEST_BYTES = 8 * 1024
/** Headers in one upgrade request at most. */
export const MAX_UPGRADE_HEADERS = 64

export interface UpgradeRequest {
  method: string
  target: string
  /** Lower-case names; repeated headers joined with ", " (as Node does for most). */
  headers: Record<string, string>
}

const REQUEST_LINE = /^([A-Z]{1,16}) (\S{1,2048}) HTTP\/1\.[01]$/
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}):[ \t]*(.*?)[ \t]*$/

/** The request once its header is complete (undefined until then); throws on a malformed one. */
export function parseUpgradeRequest (buf: Buffer): { value: UpgradeRequest, used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const first = REQUEST_LINE.exec(lines[0] ?? '')
  if (first === null) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'not an HTTP/1.1 request line', { reason: 'http request line' })
  if (lines.length - 1 > MAX_UPGRADE_HEADERS) throw new HandshakeError('TUN_HANDSHAKE_INVALID', `more than ${MAX_UPGRADE_HEADERS} headers`, { reason: 'http headers' })
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const m = HEADER_LINE.exec(line)
    if (m === null) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'a malformed HTTP header line', { reason: 'http header' })
    const name = (m[1] ?? '').toLowerCase()
    const value = m[2] ?? ''
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value
  }
  return { value: { method: first[1] ?? '', target: first[2] ?? '', headers }, used: end + 4 }
}

/** 0 when the request is a WebSocket upgrade to our path, else the HTTP status to answer. */
export function upgradeStatus (r: UpgradeRequest): 0 | 400 | 404 | 405 {
  const path = r.target.split('?')[0]
  if (path !== WEBSOCKET_PATH) return 404
  if (r.method !== 'GET') return 405
  const upgrade = (r.headers.upgrade ?? '').toLowerCase().split(',').map((s) => s.trim())
  const connection = (r.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim())
  return upgrade.includes('websocket') && connection.includes('upgrade') ? 0 : 400
}

/**
 * The client's address from X-Forwarded-For, read right to left past the trusted proxies; undefined
 * when the header is absent or names no usable address (then the TCP peer counts).
 */
export function forwardedSource (header: string | undefined, trusted: SourceFilter): string | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const hops = header.split(',').map((h) => normalizeAddress(h.trim().replace(/^\[(.*)\](?::\d+)?$/, '$1')))
  let found: string | undefined
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? ''
    if (isIP(hop) === 0) return found
    found = hop
    if (!trusted.admits(hop)) return hop
  }
  return found
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' }

export interface UpgradeResult {
  ws: WebSocket
  request: UpgradeRequest
}

// ws loads with the first WebSocket client, not with the relay: most relays' clients use raw TCP
// (issue 21: about 1.2 MiB of heap when idle).
const requireLazily = createRequire(import.meta.url)

export class WebSocketAcceptor {
  #wss: WebSocketServer | undefined

  get #server (): WebSocketServer {
    this.#wss ??= new (requireLazily('ws') as { WebSocketServer: typeof WebSocketServer }).WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES, skipUTF8Validation: true })
    return this.#wss
  }

  /**
   * Reads the upgrade request from `stream` (its first bytes in `initial`) and upgrades it; an
   * HTTP status when it is not an upgrade to our path (the caller answers and closes).
   */
  async accept (stream: Socket, initial: Buffer, signal: AbortSignal): Promise<UpgradeResult | { status: number }> {
    const { value: request, rest } = await readHandshakeMessage(stream, parseUpgradeRequest, {
      maxBytes: MAX_UPGRADE_REQUEST_BYTES,
      signal,
      initial,
      closed: () => new HandshakeError('TUN_SESSION_CLOSED', 'the peer closed the connection during the WebSocket upgrade', { reason: 'closed' }),
    })
    const status = upgradeStatus(request)
    if (status !== 0) return { status }
    const req = new (nodeHttp().IncomingMessage)(stream)
    req.method = request.method
    req.url = request.target
    req.headers = request.headers
    return await new Promise((resolve, reject) => {
      // ws answers a bad key or version itself (400) and closes without calling back.
      const onClose = (): void => { reject(new HandshakeError('TUN_HANDSHAKE_INVALID', 'the WebSocket upgrade was refused (bad key or version)', { reason: 'websocket upgrade' })) }
      stream.once('close', onClose)
      this.#server.handleUpgrade(req, stream, rest, (ws) => {
        stream.off('close', onClose)
        // The request was read with the stream paused; ws reads with 'data', which does not resume it.
        stream.resume()
        resolve({ ws, request })
      })
    })
  }

  /** Answers a request that is not ours and closes. */
  static refuse (stream: Socket, status: number): void {
    stream.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    setTimeout(() => stream.destroy(), 1_000).unref()
  }
}
