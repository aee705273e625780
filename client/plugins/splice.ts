// How a plugin joins a visitor to a connection it made: dial (TCP or a Unix socket) with a
// deadline, then bridge the mux stream with the socket (back-pressure, half-close both ways,
// the proxy's bandwidth limiter), after writing what must come first (a PROXY header, the bytes
// the visitor sent behind its handshake). Two duplexes (a TLS socket and a TCP socket) are
// joined by pipeBoth.
import { connect, type NetConnectOpts, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { TunnelError } from '../../shared/errors.js'
import type { TokenBucket } from '../../shared/limit/index.js'
import { bridge } from '../../shared/mux/index.js'
import { encodeProxyHeader } from '../../shared/net/index.js'
import { ResetCode } from '../../shared/wire/index.js'
import type { PluginConn } from './plugin.js'

/** A connection a plugin makes (to the local service, a SOCKS or CONNECT target) must be up within this. */
export const PLUGIN_DIAL_TIMEOUT_MS = 10_000

/** Connects; rejects with the socket's error, or TUN_LOCAL_DIAL after PLUGIN_DIAL_TIMEOUT_MS. */
export function dial (options: NetConnectOpts, timeoutMs = PLUGIN_DIAL_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...options, allowHalfOpen: true, noDelay: true } as NetConnectOpts)
    const fail = (err: Error): void => {
      socket.off('connect', ok)
      socket.destroy()
      reject(err)
    }
    const ok = (): void => {
      socket.off('error', fail)
      socket.off('timeout', onTimeout)
      socket.setTimeout(0)
      resolve(socket)
    }
    const onTimeout = (): void => { fail(new TunnelError('TUN_LOCAL_DIAL', `no answer within ${timeoutMs} ms`)) }
    socket.setTimeout(timeoutMs)
    socket.once('timeout', onTimeout)
    socket.once('error', fail)
    socket.once('connect', ok)
  })
}

export interface SpliceOptions {
  /** Written to the socket before anything of the visitor's (a PROXY header, a reply). */
  first?: Buffer | undefined
  /** Bytes the visitor sent behind its handshake (StreamReader.detach). */
  rest?: Buffer | undefined
  /** The visitor already sent FIN (StreamReader.detach). */
  ended?: boolean | undefined
  limiter?: TokenBucket | undefined
}

/** Bridges the visitor's stream with `socket` until both are done; then conn.done(). */
export function splice (conn: PluginConn, socket: Socket, options: SpliceOptions = {}): void {
  if (options.first !== undefined && options.first.length > 0) socket.write(options.first)
  if (options.rest !== undefined && options.rest.length > 0) socket.write(options.rest)
  bridge(conn.stream, socket, () => { conn.done() }, { limiter: options.limiter })
  // The stream will not say `end` again: it was said to the handshake reader.
  if (options.ended === true) socket.end()
}

/** The PROXY header for a connection the plugin makes for `conn`, or undefined. */
export function proxyHeader (conn: PluginConn, version: 'v1' | 'v2' | null): Buffer | undefined {
  const open = conn.stream.open
  if (version === null || open === undefined) return undefined
  return encodeProxyHeader(version, open.visitor, open.listener)
}

/** Resets the visitor's stream (a TCP RST to the visitor) and finishes the connection. */
export function refuse (conn: PluginConn, code: number = ResetCode.REFUSED): void {
  conn.stream.reset(code)
  conn.done()
}

/**
 * Pumps both ways between two duplexes with back-pressure (pipe); an end travels as end, and
 * when either side closes the other is destroyed. `done` runs once, when both have closed.
 */
export function pipeBoth (a: Duplex, b: Duplex, done: () => void = () => {}): void {
  let closed = 0
  const onClose = (other: Duplex) => (): void => {
    if (!other.destroyed) other.destroy()
    if (++closed === 2) done()
  }
  a.on('error', () => {})
  b.on('error', () => {})
  a.once('close', onClose(b))
  b.once('close', onClose(a))
  a.pipe(b)
  b.pipe(a)
}
