// The client's dialer: a byte stream to the relay for the handshake, built in layers as
// transport.* says (issue 18): TCP to the relay or to the proxy of transport.proxyURL (HTTP
// CONNECT or SOCKS5), then for wss TLS and a WebSocket, for websocket a WebSocket (and TLS inside
// it with tls.enable, as frp), for tcp TLS with tls.enable. Everything before the hello is bounded
// by transport.dialServerTimeout; on any failure the TCP connection is closed.
import type { Socket } from 'node:net'
import type { ClientConfig } from '../../shared/config/index.js'
import { describeProxy } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { PooledReader } from '../../shared/mux/index.js'
import { asSocket, normalizeAddress } from '../../shared/net/index.js'
import { dial } from '../dial.js'
import { httpConnect } from './http-connect.js'
import { socks5Connect } from './socks5.js'
import { tlsConnect, tlsServerName } from './tls-client.js'
import { websocketConnect, websocketUrl } from './websocket-client.js'

export interface RelayConnection {
  /** What the handshake runs on (the TCP socket itself for plain tcp). */
  socket: Socket
  /** The TCP connection underneath (to the relay, or to the proxy). */
  tcp: Socket
  /** tcp, tls, websocket, websocket+tls or wss. */
  transport: string
  /** The proxy it goes through (scheme://host:port, no credentials), or undefined. */
  via: string | undefined
  /** The normalised address of the TCP peer: the relay, or the proxy. */
  peer: string
}

/** The name of the stack transport.* asks for. */
export function transportName (config: ClientConfig): string {
  const { protocol, tls } = config.transport
  if (protocol === 'wss') return 'wss'
  if (protocol === 'websocket') return tls.enable ? 'websocket+tls' : 'websocket'
  return tls.enable ? 'tls' : 'tcp'
}

export async function dialRelay (config: ClientConfig, stop: AbortSignal): Promise<RelayConnection> {
  const { serverAddr, serverPort, transport } = config
  const proxy = transport.proxyURL
  const timeoutMs = transport.dialServerTimeout * 1000
  const local = transport.connectServerLocalIP ?? undefined
  // Straight TCP to the relay reads through the shared buffer into pooled blocks, which the
  // record layer gives back once it has opened them (no fresh 64 KiB buffer per read). Anything
  // layered on the socket (a proxy's reply, TLS, WebSocket) reads it the usual way.
  const pooled = proxy === null && transport.protocol === 'tcp' && !transport.tls.enable
  const tcp = proxy === null
    ? await dial(serverAddr, serverPort, timeoutMs, stop, local, pooled ? new PooledReader() : undefined)
    : await dialProxy(proxy.host, proxy.port, describeProxy(proxy), timeoutMs, stop, local)
  const deadline = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)])
  const peer = normalizeAddress(tcp.remoteAddress ?? '')
  try {
    let stream: Socket = tcp
    if (proxy !== null) {
      if (proxy.scheme === 'https') stream = await tlsConnect(stream, { enable: true, certFile: null, keyFile: null, trustedCaFile: null, serverName: proxy.host, disableCustomTLSFirstByte: true }, proxy.host, false, deadline)
      if (proxy.scheme === 'socks5') await socks5Connect(stream, serverAddr, serverPort, proxy, deadline)
      else await httpConnect(stream, serverAddr, serverPort, proxy, deadline)
    }
    const { protocol, tls } = transport
    if (protocol === 'wss') {
      stream = await tlsConnect(stream, tls, serverAddr, false, deadline)
      stream = asSocket(await websocketConnect(stream, websocketUrl(true, tlsServerName(tls, serverAddr), serverPort), deadline))
    } else if (protocol === 'websocket') {
      stream = asSocket(await websocketConnect(stream, websocketUrl(false, serverAddr, serverPort), deadline))
      if (tls.enable) stream = await tlsConnect(stream, tls, serverAddr, !tls.disableCustomTLSFirstByte, deadline)
    } else if (tls.enable) {
      stream = await tlsConnect(stream, tls, serverAddr, !tls.disableCustomTLSFirstByte, deadline)
    }
    return { socket: stream, tcp, transport: transportName(config), via: proxy === null ? undefined : describeProxy(proxy), peer }
  } catch (err) {
    tcp.destroy()
    if (err instanceof TunnelError) throw err
    throw new TunnelError('TUN_CONNECT', String(err), { cause: err })
  }
}

/** TCP to the proxy: a failure names the proxy, not the relay. */
async function dialProxy (host: string, port: number, name: string, timeoutMs: number, stop: AbortSignal, local: string | undefined): Promise<Socket> {
  try {
    return await dial(host, port, timeoutMs, stop, local)
  } catch (err) {
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err)
    throw new TunnelError('TUN_CONNECT', `cannot connect to the proxy ${name}: ${reason}`, { cause: err })
  }
}
