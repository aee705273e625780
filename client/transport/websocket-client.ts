// The client's WebSocket layer (transport.protocol websocket or wss, as frp): a GET /~!frp with
// Upgrade over the stream dialled so far (TCP, a proxy tunnel, or TLS for wss), through ws. The
// Host header is serverAddr:serverPort (websocket) or the TLS server name (wss), as frp sends
// them, so a reverse proxy routes it like frp's. A status instead of 101 is TUN_WEBSOCKET_UPGRADE.
import { createRequire } from 'node:module'
import { isIP, type Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { TunnelError } from '../../shared/errors.js'
import { MAX_WEBSOCKET_MESSAGE_BYTES, WEBSOCKET_PATH, WebSocketStream } from '../../shared/net/index.js'

/** `ws://host:port/~!frp` or `wss://name/~!frp` (brackets around IPv6). */
export function websocketUrl (secure: boolean, host: string, port: number): string {
  const h = isIP(host) === 6 ? `[${host}]` : host
  const defaultPort = secure ? 443 : 80
  return `${secure ? 'wss' : 'ws'}://${h}${port === defaultPort ? '' : `:${port}`}${WEBSOCKET_PATH}`
}

// ws loads with the first WebSocket connection, not with the client (issue 21: idle memory).
const requireLazily = createRequire(import.meta.url)

export function websocketConnect (stream: Socket, url: string, signal: AbortSignal): Promise<WebSocketStream> {
  const ws = new (requireLazily('ws') as typeof WebSocket)(url, {
    createConnection: () => stream,
    perMessageDeflate: false,
    maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES,
    skipUTF8Validation: true,
  })
  // A proxy's answer may have been read with the stream paused, and ws's HTTP request reads with
  // 'data', which does not resume it. Its listener is attached on the next tick (http's
  // onSocket), so resuming after that loses nothing (and the relay sends nothing before the request).
  process.nextTick(() => { if (stream.isPaused()) stream.resume() })
  return new Promise((resolve, reject) => {
    const done = (err?: TunnelError): void => {
      ws.off('open', onOpen)
      ws.off('error', onError)
      ws.off('unexpected-response', onResponse)
      signal.removeEventListener('abort', onAbort)
      if (err === undefined) { resolve(new WebSocketStream(ws, stream)); return }
      // terminate() while connecting makes ws emit one more 'error': nobody is waiting for it.
      ws.on('error', () => {})
      ws.terminate()
      stream.destroy()
      reject(err)
    }
    const onOpen = (): void => { done() }
    const onError = (err: Error): void => { done(new TunnelError('TUN_WEBSOCKET_UPGRADE', `the WebSocket upgrade at ${url} failed: ${err.message}`, { cause: err })) }
    const onResponse = (_req: unknown, res: { statusCode?: number, statusMessage?: string }): void => {
      done(new TunnelError('TUN_WEBSOCKET_UPGRADE', `the WebSocket upgrade at ${url} was answered "${res.statusCode ?? 0} ${res.statusMessage ?? ''}" instead of 101 (a relay without WebSocket, a reverse proxy without the Upgrade headers or whose relay is down)`))
    }
    const onAbort = (): void => { done(new TunnelError('TUN_CONNECT', `no WebSocket upgrade at ${url} in time`)) }
    ws.once('open', onOpen)
    ws.once('error', onError)
    ws.once('unexpected-response', onResponse)
    if (signal.aborted) { onAbort(); return }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
