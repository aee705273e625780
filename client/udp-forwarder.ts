// Client side of one UDP proxy: one connected dgram socket per flow toward localIP:localPort, so
// the local service sees one source port per visitor (as behind a NAT) and its replies map back
// to the flow. Counts what it forwards and drops. ICMP port unreachable (ECONNREFUSED on a
// connected socket) is counted and the flow kept: the service may come back. With
// transport.bandwidthLimit in client mode, datagrams over the limit (either way) are dropped and
// counted (`bandwidth`). With transport.proxyProtocolVersion v2, every datagram to the service
// starts with a PROXY v2 header (SOCK_DGRAM: the visitor, and the relay's public address).
import { WARN_INTERVAL_MS } from '../shared/timing.js'
import { createSocket, type Socket } from 'node:dgram'
import type { Logger } from 'pino'
import type { UdpProxyConfig } from '../shared/config/index.js'
import { TokenBucket, type TokenBucketStats } from '../shared/limit/index.js'
import { formatHostPort, encodeProxyHeader, type ProxyEndpoint, maxDatagramBytesTo, udpTypeFor } from '../shared/net/index.js'
import { DropWarner, dropsSummary, newFlowTally, newUdpCounters, type FlowTally, type UdpCounters, type UdpDropReason } from '../shared/udp/index.js'

/** Datagrams held while a new flow's socket connects, at most (bytes). */
export const CONNECT_BACKLOG_BYTES = 64 * 1024
/** Datagrams toward the service are dropped while a flow's socket queue holds more than this. */
export const FLOW_SEND_QUEUE_BYTES = 256 * 1024
/** At most one "local service unreachable" warning per proxy in this window. */
export const UNREACHABLE_WARN_INTERVAL_MS = WARN_INTERVAL_MS

export interface LocalFlowHooks {
  /** A datagram from the local service. */
  reply (flow: LocalFlow, datagram: Buffer): void
  /** The socket could not be set up (the local address does not resolve, no route...). */
  failed (flow: LocalFlow): void
}

export class LocalFlow {
  readonly id: number
  readonly visitor: string
  readonly tally: FlowTally = newFlowTally()
  readonly openedAt: number
  lastSeen: number
  readonly #fwd: UdpForwarder
  readonly #socket: Socket
  readonly #maxOut: number
  #connected = false
  #backlog: Buffer[] = []
  #backlogBytes = 0
  #closed = false
  /** PROXY v2 header sent in front of every datagram (transport.proxyProtocolVersion v2). */
  readonly #header: Buffer | undefined

  constructor (fwd: UdpForwarder, id: number, visitor: string, now: number, hooks: LocalFlowHooks, header?: Buffer) {
    this.#header = header
    this.#fwd = fwd
    this.id = id
    this.visitor = visitor
    this.openedAt = now
    this.lastSeen = now
    const { localIP, localPort } = fwd.proxy
    this.#maxOut = maxDatagramBytesTo(localIP)
    this.#socket = createSocket({ type: udpTypeFor(localIP) })
    this.#socket.on('message', (msg) => { if (!this.#closed) hooks.reply(this, msg) })
    this.#socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#closed) return
      if (!this.#connected) {
        fwd.unreachable(err, visitor)
        hooks.failed(this)
      } else if (err.code === 'ECONNREFUSED') {
        fwd.drop('refused', this)
        fwd.unreachable(err, visitor)
      } else {
        fwd.drop('sendError', this)
      }
    })
    this.#socket.connect(localPort, localIP, () => { this.#onConnect() })
  }

  get closed (): boolean { return this.#closed }

  /** Sends a datagram from the visitor to the local service (or drops and counts it). */
  send (datagram: Buffer): void {
    if (this.#closed) return
    if (datagram.length + (this.#header?.length ?? 0) > this.#maxOut) { this.#fwd.drop('tooBig', this); return }
    if (!this.#fwd.admit(datagram.length)) { this.#fwd.drop('bandwidth', this); return }
    if (!this.#connected) {
      if (this.#backlogBytes + datagram.length > CONNECT_BACKLOG_BYTES) { this.#fwd.drop('notConnected', this); return }
      this.#backlog.push(Buffer.from(datagram)) // a copy: the original may pin a whole 64 KiB read
      this.#backlogBytes += datagram.length
      return
    }
    this.#send(datagram)
  }

  #send (datagram: Buffer): void {
    if (this.#socket.getSendQueueSize() > FLOW_SEND_QUEUE_BYTES) { this.#fwd.drop('sendQueueFull', this); return }
    try {
      this.#socket.send(this.#header === undefined ? datagram : [this.#header, datagram])
    } catch {
      this.#fwd.drop('sendError', this)
      return
    }
    this.tally.datagramsIn++
    this.tally.bytesIn += datagram.length
    this.#fwd.counters.datagramsIn++
    this.#fwd.counters.bytesIn += datagram.length
  }

  #onConnect (): void {
    if (this.#closed) return
    this.#connected = true
    const backlog = this.#backlog
    this.#backlog = []
    this.#backlogBytes = 0
    for (const d of backlog) this.#send(d)
  }

  /** The local source port the service sees (0 until connected). */
  get localPort (): number {
    try { return this.#socket.address().port } catch { return 0 }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#backlog = []
    try { this.#socket.close() } catch { /* already closed */ }
  }
}

export class UdpForwarder {
  readonly proxy: UdpProxyConfig
  /** Cumulative over every session of this client. */
  readonly counters: UdpCounters = newUdpCounters()
  readonly #log: Logger
  readonly #warner: DropWarner
  readonly #limiter: TokenBucket | undefined
  #lastUnreachableWarn = -Infinity
  #suppressed = 0

  constructor (proxy: UdpProxyConfig, log: Logger) {
    this.proxy = proxy
    this.#log = log
    this.#warner = new DropWarner(log)
    this.#limiter = proxy.bandwidthLimit > 0 && proxy.bandwidthLimitMode === 'client' ? new TokenBucket(proxy.bandwidthLimit) : undefined
  }

  /** Bytes per second of the bandwidth limit applied on this side, or 0. */
  get bandwidthLimit (): number { return this.#limiter?.rate ?? 0 }

  /**
   * Whether a datagram of `bytes` (either direction) fits the proxy's bandwidth limit (client
   * mode); taken from the bucket when it does. Always true without a limit.
   */
  admit (bytes: number): boolean {
    return this.#limiter === undefined || this.#limiter.admit(bytes)
  }

  /** Plain numbers, for logs and metrics (drops by reason include `bandwidth`). */
  get stats (): UdpCounters & { bandwidth: TokenBucketStats | null } {
    return { ...this.counters, drops: { ...this.counters.drops }, bandwidth: this.#limiter?.stats ?? null }
  }

  get log (): Logger { return this.#log }

  /** A new flow for `visitor` (normalised `host:port`, for logs). */
  open (id: number, visitor: string, now: number, hooks: LocalFlowHooks, header?: Buffer): LocalFlow {
    return new LocalFlow(this, id, visitor, now, hooks, header)
  }

  /** The relay's public port for this proxy, once registered (0 before). */
  publicPort = 0

  /** The PROXY v2 (SOCK_DGRAM) header for a flow from `visitor`, or undefined when not configured. */
  proxyHeader (visitor: ProxyEndpoint, relayAddress: string): Buffer | undefined {
    if (this.proxy.proxyProtocolVersion !== 'v2') return undefined
    return encodeProxyHeader('v2', visitor, { address: relayAddress, port: this.publicPort || this.proxy.remotePort }, 'dgram')
  }

  drop (reason: UdpDropReason, flow: LocalFlow | undefined): void {
    this.counters.drops[reason]++
    if (flow !== undefined) flow.tally.drops++
    if (reason !== 'refused') this.#warner.note(this.counters)
  }

  /** The local service did not answer (ICMP port unreachable, or the address is unusable). */
  unreachable (err: NodeJS.ErrnoException, visitor: string): void {
    const now = performance.now()
    if (now - this.#lastUnreachableWarn < UNREACHABLE_WARN_INTERVAL_MS) { this.#suppressed++; return }
    this.#lastUnreachableWarn = now
    const target = formatHostPort(this.proxy.localIP, this.proxy.localPort)
    this.#log.warn({ code: 'TUN_LOCAL_DIAL', local: target, remote: visitor, errno: err.code, suppressed: this.#suppressed }, `cannot reach the local udp service ${target}: ${err.message}`)
    this.#suppressed = 0
  }

  /** One line with the totals, when a session ends. */
  logSummary (): void {
    const c = this.counters
    this.#log.info({ datagramsIn: c.datagramsIn, bytesIn: c.bytesIn, datagramsOut: c.datagramsOut, bytesOut: c.bytesOut, flowsOpened: c.flowsOpened, drops: dropsSummary(c.drops) }, 'udp proxy closed')
  }
}
