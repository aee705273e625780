// Client side of a TCP proxy (and of http/https ones, whose streams are TCP too): each stream the relay opens is dialled to localIP:localPort and
// bridged. A refused or timed-out local dial resets only that stream. With
// transport.proxyProtocolVersion the local service first gets a PROXY header (visitor → relay
// listener, from the stream's open header).
import { connect } from 'node:net'
import type { Logger } from 'pino'
import type { TcpProxyConfig } from '../shared/config/types.js'
import { bridge } from '../shared/mux/bridge.js'
import type { MuxStream } from '../shared/mux/stream.js'
import { formatHostPort } from '../shared/net/address.js'
import { encodeProxyHeader } from '../shared/net/proxy-protocol.js'
import { ResetCode } from '../shared/wire/frame.js'

export const LOCAL_DIAL_TIMEOUT_MS = 10_000
/** At most one "local service unreachable" warning per proxy in this window. */
export const DIAL_WARN_INTERVAL_MS = 10_000

/** What the forwarder needs of a tcp, http or https proxy. */
export type ForwardTarget = Pick<TcpProxyConfig, 'localIP' | 'localPort'> & { proxyProtocolVersion?: TcpProxyConfig['proxyProtocolVersion'] }

export class TcpForwarder {
  readonly #proxy: ForwardTarget
  readonly #log: Logger
  #lastWarn = -Infinity
  #suppressed = 0
  active = 0
  dialFailures = 0

  constructor (proxy: ForwardTarget, log: Logger) {
    this.#proxy = proxy
    this.#log = log
  }

  handle (stream: MuxStream): void {
    const { localIP, localPort } = this.#proxy
    const visitor = stream.open === undefined ? '' : `${stream.open.visitor.address}:${stream.open.visitor.port}`
    const socket = connect({ host: localIP, port: localPort, noDelay: true, allowHalfOpen: true })
    socket.setTimeout(LOCAL_DIAL_TIMEOUT_MS)
    const onEarlyError = (err: Error): void => {
      clearEarly()
      this.dialFailures++
      this.#warnDial(err, visitor)
      socket.destroy()
      stream.reset(ResetCode.REFUSED)
    }
    const onTimeout = (): void => { onEarlyError(new Error(`no answer within ${LOCAL_DIAL_TIMEOUT_MS} ms`)) }
    const clearEarly = (): void => {
      socket.off('error', onEarlyError)
      socket.off('timeout', onTimeout)
      socket.setTimeout(0)
    }
    socket.once('error', onEarlyError)
    socket.once('timeout', onTimeout)
    socket.once('connect', () => {
      clearEarly()
      // The PROXY header goes first, before any byte of the stream (bridge starts after it).
      const version = this.#proxy.proxyProtocolVersion ?? null
      if (version !== null) {
        const open = stream.open ?? { visitor: { address: '', port: 0 }, listener: { address: '', port: 0 } }
        socket.write(encodeProxyHeader(version, open.visitor, open.listener))
      }
      stream.accept()
      this.active++
      this.#log.debug({ streamId: stream.id, remote: visitor }, 'stream connected to local service')
      bridge(stream, socket, (r) => {
        this.active--
        this.#log.debug({ streamId: stream.id, bytesIn: r.bytesToSocket, bytesOut: r.bytesFromSocket, code: r.error?.code }, 'stream closed')
      })
    })
  }

  #warnDial (err: Error, visitor: string): void {
    const now = performance.now()
    if (now - this.#lastWarn < DIAL_WARN_INTERVAL_MS) { this.#suppressed++; return }
    this.#lastWarn = now
    const target = formatHostPort(this.#proxy.localIP, this.#proxy.localPort)
    this.#log.warn({ code: 'TUN_LOCAL_DIAL', local: target, remote: visitor, suppressed: this.#suppressed }, `cannot reach the local service ${target}: ${err.message}`)
    this.#suppressed = 0
  }
}
