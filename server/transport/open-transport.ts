// What the relay does with a new connection on its client port before the handshake: read the
// first byte and peel the transports the client wrapped its handshake in (docs/protocol.md §0):
// TLS (0x16, or frp's marker 0x17 then 0x16), a WebSocket (GET /~!frp with Upgrade), at most
// two of them, until the first byte is the hello's `T`. Every wait is bounded by the caller's
// signal (the handshake deadline, which runs from the TCP accept) and every read by a size.
import type { Socket } from 'node:net'
import { HandshakeError, TunnelError } from '../../shared/errors.js'
import { asSocket, FRP_TLS_FIRST_BYTE, type SourceFilter, TLS_HANDSHAKE_BYTE, WebSocketStream } from '../../shared/net/index.js'
import { readHandshakeMessage } from '../../shared/transport/index.js'
import type { TlsAcceptor } from './tls-acceptor.js'
import { forwardedSource, WebSocketAcceptor } from './websocket-upgrade.js'

/** Transports stacked under one handshake at most (TLS in a WebSocket, or a WebSocket in TLS). */
export const MAX_TRANSPORT_LAYERS = 2
/** The hello's first byte: the `T` of its magic `TUNL`. */
const HELLO_FIRST_BYTE = 0x54
/** An HTTP request's first byte: the `G` of `GET`. */
const HTTP_GET_FIRST_BYTE = 0x47

export type TransportLayer = 'tls' | 'websocket'
export type FirstByteKind = 'hello' | 'tls' | 'tls-marker' | 'http'

export function classifyFirstByte (b: number): FirstByteKind | undefined {
  switch (b) {
    case HELLO_FIRST_BYTE: return 'hello'
    case TLS_HANDSHAKE_BYTE: return 'tls'
    case FRP_TLS_FIRST_BYTE: return 'tls-marker'
    case HTTP_GET_FIRST_BYTE: return 'http'
    default: return undefined
  }
}

export interface TransportPolicy {
  tls: TlsAcceptor
  /** Only hellos under TLS (transport.tls.force). */
  forceTls: boolean
  /** undefined: WebSocket clients are refused (transport.websocket.enable false). */
  websocket: WebSocketAcceptor | undefined
  /** Whose X-Forwarded-For is believed (the TCP peer must be one of them). */
  trustedProxies: SourceFilter
  /**
   * vhostHTTPSPort is bindPort (frp's shared port): a connection whose first byte is a plain TLS
   * handshake (0x16; tunnel clients on this port mark theirs with 0x17, as frp's do) may be an
   * https visitor. Given the socket with its first chunk put back, this takes it and answers true,
   * or answers false (another port, no https vhost) and the TLS transport goes on.
   */
  httpsVisitor?: (socket: Socket, first: Buffer) => boolean
}

export type OpenedTransport =
  | { ok: true, stream: Socket, layers: TransportLayer[], forwardedFor: string | undefined }
  | { ok: false, error: TunnelError, layers: TransportLayer[], tlsRequired?: true, refused?: true, handedOff?: true }

/**
 * Peels the transports off `socket`. On success the returned stream is paused, its next byte the
 * hello's first. On failure the caller closes the socket (the streams over it go with it); a
 * refusal HTTP answer has been written already.
 */
/**
 * `admitForwarded` runs once, right after a WebSocket upgrade from a trusted proxy, with the
 * client's address (X-Forwarded-For, else the proxy's) and the WebSocket stream: false means the
 * handshake limits refused it (and it answered), which ends the opening.
 */
export async function openTransport (socket: Socket, policy: TransportPolicy, peerTrusted: boolean, signal: AbortSignal, admitForwarded?: (source: string | undefined, stream: Socket) => boolean): Promise<OpenedTransport> {
  let stream = socket
  const layers: TransportLayer[] = []
  let forwardedFor: string | undefined
  const fail = (reason: string, code: TunnelError['code'] = 'TUN_HANDSHAKE_INVALID'): OpenedTransport => ({ ok: false, error: new HandshakeError(code, reason, { reason }), layers })
  for (;;) {
    let chunk: Buffer
    try {
      chunk = await firstChunk(stream, signal)
    } catch (err) {
      return { ok: false, error: err instanceof TunnelError ? err : new HandshakeError('TUN_HANDSHAKE_INVALID', String(err), { reason: 'read' }), layers }
    }
    const kind = classifyFirstByte(chunk[0] ?? 0)
    if (kind === 'hello') {
      stream.unshift(chunk)
      if (policy.forceTls && !layers.includes('tls')) return { ok: false, error: new HandshakeError('TUN_TLS_REQUIRED', 'a client without TLS (transport.tls.force is set)', { reason: 'tls required' }), layers, tlsRequired: true }
      return { ok: true, stream, layers, forwardedFor }
    }
    if (kind === undefined) return fail(`not a tunnel client (first byte 0x${(chunk[0] ?? 0).toString(16).padStart(2, '0')})`)
    if (layers.length >= MAX_TRANSPORT_LAYERS) return fail(`more than ${MAX_TRANSPORT_LAYERS} transports stacked`)
    if (kind === 'http') {
      if (layers.includes('websocket')) return fail('a WebSocket inside a WebSocket')
      const opened = await openWebSocket(stream, chunk, policy, signal)
      if ('error' in opened) return { ok: false, error: opened.error, layers }
      stream = opened.stream
      layers.push('websocket')
      if (peerTrusted) {
        forwardedFor = forwardedSource(opened.forwardedFor, policy.trustedProxies) ?? forwardedFor
        if (admitForwarded?.(forwardedFor, stream) === false) return { ok: false, error: new HandshakeError('TUN_RELAY_BUSY', 'refused by the handshake limits', { reason: 'busy' }), layers, refused: true }
      }
      continue
    }
    if (layers.includes('tls')) return fail('TLS inside TLS')
    if (kind === 'tls' && layers.length === 0 && policy.httpsVisitor?.(stream, chunk) === true) {
      return { ok: false, error: new HandshakeError('TUN_HANDSHAKE_INVALID', 'an https visitor on the shared port (handed to the vhost)', { reason: 'https visitor' }), layers, handedOff: true }
    }
    const rest = kind === 'tls-marker' ? chunk.subarray(1) : chunk
    if (rest.length > 0) stream.unshift(rest)
    try {
      stream = await policy.tls.accept(stream, signal)
    } catch (err) {
      return fail(`TLS handshake failed: ${err instanceof Error ? err.message : String(err)}`, 'TUN_TLS')
    }
    layers.push('tls')
  }
}

async function openWebSocket (stream: Socket, initial: Buffer, policy: TransportPolicy, signal: AbortSignal): Promise<{ stream: Socket, forwardedFor: string | undefined } | { error: TunnelError }> {
  if (policy.websocket === undefined) {
    WebSocketAcceptor.refuse(stream, 404)
    return { error: new HandshakeError('TUN_WEBSOCKET_UPGRADE', 'a WebSocket client, but transport.websocket.enable is false (answered 404)', { reason: 'websocket off' }) }
  }
  try {
    const r = await policy.websocket.accept(stream, initial, signal)
    if ('status' in r) {
      WebSocketAcceptor.refuse(stream, r.status)
      return { error: new HandshakeError('TUN_WEBSOCKET_UPGRADE', `an HTTP request that is not a WebSocket upgrade to our path (answered ${r.status})`, { reason: `http ${r.status}` }) }
    }
    return { stream: asSocket(new WebSocketStream(r.ws, stream)), forwardedFor: r.request.headers['x-forwarded-for'] }
  } catch (err) {
    return { error: err instanceof TunnelError ? err : new HandshakeError('TUN_HANDSHAKE_INVALID', String(err), { reason: 'websocket' }) }
  }
}

/** The first chunk that arrives (at least one byte), the stream left paused. */
async function firstChunk (stream: Socket, signal: AbortSignal): Promise<Buffer> {
  const { rest } = await readHandshakeMessage(stream, (buf) => (buf.length > 0 ? { value: true, used: 0 } : undefined), {
    maxBytes: 1,
    signal,
    closed: () => new HandshakeError('TUN_SESSION_CLOSED', 'the peer closed the connection before sending anything', { reason: 'closed' }),
  })
  return rest
}
