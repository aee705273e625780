// Client side of a TCP proxy (and of http/https ones, whose streams are TCP too): each stream the relay opens is dialled to localIP:localPort and
// bridged. A refused or timed-out local dial resets only that stream. With
// transport.proxyProtocolVersion the local service first gets a PROXY header (visitor → relay
// listener, from the stream's open header). With transport.bandwidthLimit in client mode (frp's
// default) every stream of the proxy shares one token bucket, both directions together.
// close() (a reload removed or changed the proxy) resets every stream it holds, connected or
// still dialling, and refuses new ones.
import { WARN_INTERVAL_MS } from '../shared/timing.js'
import { connect, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { HttpProxyConfig, HttpsProxyConfig, StcpProxyConfig, TcpmuxProxyConfig, TcpProxyConfig, XtcpProxyConfig } from '../shared/config/index.js'
import { TokenBucket, type TokenBucketStats } from '../shared/limit/index.js'
import { bridge, PooledReader, type MuxStream } from '../shared/mux/index.js'
import { formatHostPort, encodeProxyHeader } from '../shared/net/index.js'
import { ResetCode } from '../shared/wire/index.js'
import type { StreamForwarder } from './stream-forwarder.js'

export const LOCAL_DIAL_TIMEOUT_MS = 10_000
/** At most one "local service unreachable" warning per proxy in this window. */
export const DIAL_WARN_INTERVAL_MS = WARN_INTERVAL_MS

/** A TCP proxy's counters on the client. Directions are the visitor's: in = visitor → service. */
export interface TcpForwarderTraffic {
  bytesIn: number
  bytesOut: number
  active: number
  /** Streams connected to the local service. */
  total: number
  dialFailures: number
}

/** What the forwarder needs of a tcp, http, https, tcpmux, stcp or xtcp proxy. */
export type ForwardTarget = TcpProxyConfig | HttpProxyConfig | HttpsProxyConfig | TcpmuxProxyConfig | StcpProxyConfig | XtcpProxyConfig

export class TcpForwarder implements StreamForwarder {
  readonly #proxy: ForwardTarget
  readonly #log: Logger
  readonly #limiter: TokenBucket | undefined
  /** Byte counts of streams that have finished (live ones are read from the streams). */
  #doneIn = 0
  #doneOut = 0
  #lastWarn = -Infinity
  #suppressed = 0
  /** Every stream this forwarder holds, from the dial on, with its local socket. */
  readonly #streams = new Map<MuxStream, Socket>()
  #closed = false
  active = 0
  total = 0
  dialFailures = 0

  constructor (proxy: ForwardTarget, log: Logger) {
    this.#proxy = proxy
    this.#log = log
    this.#limiter = proxy.bandwidthLimit > 0 && proxy.bandwidthLimitMode === 'client' ? new TokenBucket(proxy.bandwidthLimit) : undefined
  }

  /** Bytes per second of the bandwidth limit applied on this side, or 0. */
  get bandwidthLimit (): number { return this.#limiter?.rate ?? 0 }

  /** Plain numbers, for logs and metrics. */
  get stats (): { active: number, dialFailures: number, bandwidth: TokenBucketStats | null } {
    return { active: this.active, dialFailures: this.dialFailures, bandwidth: this.#limiter?.stats ?? null }
  }

  get closed (): boolean { return this.#closed }

  get proxy (): ForwardTarget { return this.#proxy }

  /** Counters now: finished streams plus the live ones (nothing is counted per chunk). */
  traffic (): TcpForwarderTraffic {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const s of this.#streams.keys()) {
      bytesIn += s.bytesIn
      bytesOut += s.bytesOut
    }
    return { bytesIn, bytesOut, active: this.active, total: this.total, dialFailures: this.dialFailures }
  }

  handle (stream: MuxStream): void {
    if (this.#closed) { stream.reset(ResetCode.REFUSED); return }
    const { localIP, localPort } = this.#proxy
    const visitor = stream.open === undefined ? '' : `${stream.open.visitor.address}:${stream.open.visitor.port}`
    // Reads land in one shared buffer and are copied out (pooled when large): no fresh 64 KiB per read.
    const reader = new PooledReader()
    const socket = connect({ host: localIP, port: localPort, noDelay: true, allowHalfOpen: true, onread: reader.onread })
    this.#streams.set(stream, socket)
    // The dial's closures and timer live only until the socket connects or fails: what stays for
    // the connection's life is the bridge and its done callback (#connected), not this scope
    // (issue 21, fifth round: about 0.4 KB of each idle stream). Our own timer, not
    // socket.setTimeout(), whose cleared timer and bound callback the socket keeps.
    const onEarlyError = (err: Error): void => {
      clearEarly()
      this.#streams.delete(stream)
      this.dialFailures++
      this.#warnDial(err, visitor)
      socket.destroy()
      stream.reset(ResetCode.REFUSED)
    }
    const dialTimer = setTimeout(() => { onEarlyError(new Error(`no answer within ${LOCAL_DIAL_TIMEOUT_MS} ms`)) }, LOCAL_DIAL_TIMEOUT_MS)
    dialTimer.unref()
    // Destroyed while dialling (the proxy was closed, the stream reset): no failure to report later.
    const onEarlyClose = (): void => { clearEarly() }
    const clearEarly = (): void => {
      socket.off('error', onEarlyError)
      socket.off('close', onEarlyClose)
      clearTimeout(dialTimer)
    }
    socket.once('error', onEarlyError)
    socket.once('close', onEarlyClose)
    socket.once('connect', () => {
      clearEarly()
      this.#connected(stream, socket, reader, visitor)
    })
  }

  #connected (stream: MuxStream, socket: Socket, reader: PooledReader, visitor: string): void {
    // The PROXY header goes first, before any byte of the stream (bridge starts after it).
    const version = this.#proxy.proxyProtocolVersion
    if (version !== null) {
      const open = stream.open ?? { visitor: { address: '', port: 0 }, listener: { address: '', port: 0 } }
      socket.write(encodeProxyHeader(version, open.visitor, open.listener))
    }
    stream.accept()
    this.active++
    this.total++
    this.#log.debug({ streamId: stream.id, remote: visitor }, 'stream connected to local service')
    bridge(stream, socket, (r) => {
      this.#streams.delete(stream)
      this.active--
      this.#doneIn += stream.bytesIn
      this.#doneOut += stream.bytesOut
      this.#log.debug({ streamId: stream.id, bytesIn: r.bytesToSocket, bytesOut: r.bytesFromSocket, code: r.error?.code }, 'stream closed')
    }, { limiter: this.#limiter, reader })
  }

  /** Resets every stream (the visitors see a reset) and refuses new ones; idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    const streams = [...this.#streams]
    this.#streams.clear()
    for (const [stream, socket] of streams) {
      stream.reset(ResetCode.CANCEL)
      socket.destroy()
    }
    if (streams.length > 0) this.#log.info({ streams: streams.length }, 'proxy stopped: its streams were reset')
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
