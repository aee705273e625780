// The home side of an sudp proxy: every visit is one visitor flow, a stream of whole datagrams
// (datagram-pipe.ts), and gets one connected UDP socket toward localIP:localPort, so the service
// sees one source port per visitor flow and its replies go back on that flow. With
// transport.proxyProtocolVersion v2 every datagram to the service starts with a PROXY v2 header
// (the visitor client's address as the relay saw it). With a client-mode bandwidthLimit,
// datagrams over it are dropped (`bandwidth`). A flow ends when the visitor ends it (FIN: its
// idle timeout), when it is silent for SUDP_HOME_IDLE_MS here, or with the session.
import { createSocket, type Socket } from 'node:dgram'
import type { Logger } from 'pino'
import type { SudpProxyConfig } from '../shared/config/index.js'
import { TokenBucket } from '../shared/limit/index.js'
import type { MuxStream } from '../shared/mux/index.js'
import { encodeProxyHeader, formatHostPort, maxDatagramBytesTo, udpTypeFor } from '../shared/net/index.js'
import { DropWarner, dropsSummary, newUdpCounters, type UdpCounters, type UdpDropReason } from '../shared/udp/index.js'
import { ResetCode } from '../shared/wire/index.js'
import { WARN_INTERVAL_MS } from '../shared/timing.js'
import { DatagramPipe, SUDP_FLOW_IDLE_MS } from './datagram-pipe.js'

/** A flow silent this long is closed here (the visitor normally ends it first, at SUDP_FLOW_IDLE_MS). */
export const SUDP_HOME_IDLE_MS = SUDP_FLOW_IDLE_MS + 5_000
/** Datagrams held while a new flow's socket connects, at most (bytes). */
export const SUDP_CONNECT_BACKLOG_BYTES = 64 * 1024
/** Datagrams toward the service are dropped while a flow's socket queue holds more than this. */
export const SUDP_SEND_QUEUE_BYTES = 256 * 1024
const SWEEP_MS = 5_000

interface Flow {
  pipe: DatagramPipe
  socket: Socket
  connected: boolean
  backlog: Buffer[]
  backlogBytes: number
  lastSeen: number
  header: Buffer | undefined
  /** FIN sent for silence; reset if it is still open a sweep later. */
  ending: boolean
}

export class SudpForwarder {
  readonly proxy: SudpProxyConfig
  readonly counters: UdpCounters = newUdpCounters()
  readonly #log: Logger
  readonly #warner: DropWarner
  readonly #limiter: TokenBucket | undefined
  readonly #flows = new Map<MuxStream, Flow>()
  readonly #maxOut: number
  #sweep: NodeJS.Timeout | undefined
  #lastUnreachable = -Infinity
  #closed = false

  constructor (proxy: SudpProxyConfig, log: Logger) {
    this.proxy = proxy
    this.#log = log
    this.#warner = new DropWarner(log)
    this.#limiter = proxy.bandwidthLimit > 0 && proxy.bandwidthLimitMode === 'client' ? new TokenBucket(proxy.bandwidthLimit) : undefined
    this.#maxOut = maxDatagramBytesTo(proxy.localIP)
  }

  get activeFlows (): number { return this.#flows.size }

  /** A visit the relay joined (its proof checked by the proxy's gate): one flow toward the service. */
  handle (stream: MuxStream): void {
    if (this.#closed) { stream.reset(ResetCode.REFUSED); return }
    const { localIP, localPort } = this.proxy
    const socket = createSocket({ type: udpTypeFor(localIP) })
    const open = stream.open
    const header = this.proxy.proxyProtocolVersion === 'v2' && open !== undefined ? encodeProxyHeader('v2', open.visitor, open.listener, 'dgram') : undefined
    const flow: Flow = {
      socket,
      connected: false,
      backlog: [],
      backlogBytes: 0,
      lastSeen: performance.now(),
      header,
      ending: false,
      pipe: new DatagramPipe(stream, {
        deliver: (d) => { this.#toService(flow, d) },
        dropped: (reason) => { this.#drop(reason) },
        closed: () => { this.#finish(stream, flow) },
      }),
    }
    this.#flows.set(stream, flow)
    this.counters.flowsOpened++
    this.counters.activeFlows = this.#flows.size
    socket.on('message', (msg) => {
      flow.lastSeen = performance.now()
      if (this.#limiter !== undefined && !this.#limiter.admit(msg.length)) { this.#drop('bandwidth'); return }
      const before = flow.pipe.sent
      flow.pipe.send(msg)
      if (flow.pipe.sent === before) return
      this.counters.datagramsOut++
      this.counters.bytesOut += msg.length
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') { this.#drop('refused'); this.#unreachable(err); return }
      if (!flow.connected) { this.#unreachable(err); stream.reset(ResetCode.REFUSED); return }
      this.#drop('sendError')
    })
    socket.connect(localPort, localIP, () => {
      flow.connected = true
      const backlog = flow.backlog
      flow.backlog = []
      flow.backlogBytes = 0
      for (const d of backlog) this.#send(flow, d)
    })
    stream.accept()
    this.#startSweep()
  }

  #toService (flow: Flow, datagram: Buffer): void {
    flow.lastSeen = performance.now()
    if (datagram.length + (flow.header?.length ?? 0) > this.#maxOut) { this.#drop('tooBig'); return }
    if (this.#limiter !== undefined && !this.#limiter.admit(datagram.length)) { this.#drop('bandwidth'); return }
    if (!flow.connected) {
      if (flow.backlogBytes + datagram.length > SUDP_CONNECT_BACKLOG_BYTES) { this.#drop('notConnected'); return }
      flow.backlog.push(Buffer.from(datagram))
      flow.backlogBytes += datagram.length
      return
    }
    this.#send(flow, datagram)
  }

  #send (flow: Flow, datagram: Buffer): void {
    if (flow.socket.getSendQueueSize() > SUDP_SEND_QUEUE_BYTES) { this.#drop('sendQueueFull'); return }
    try {
      flow.socket.send(flow.header === undefined ? datagram : [flow.header, datagram])
    } catch {
      this.#drop('sendError')
      return
    }
    this.counters.datagramsIn++
    this.counters.bytesIn += datagram.length
  }

  #drop (reason: UdpDropReason): void {
    this.counters.drops[reason]++
    if (reason !== 'refused') this.#warner.note(this.counters)
  }

  #unreachable (err: NodeJS.ErrnoException): void {
    const now = performance.now()
    if (now - this.#lastUnreachable < WARN_INTERVAL_MS) return
    this.#lastUnreachable = now
    const target = formatHostPort(this.proxy.localIP, this.proxy.localPort)
    this.#log.warn({ code: 'TUN_LOCAL_DIAL', local: target, errno: err.code }, `cannot reach the local udp service ${target}: ${err.message}`)
  }

  #finish (stream: MuxStream, flow: Flow): void {
    if (this.#flows.get(stream) !== flow) return
    this.#flows.delete(stream)
    try { flow.socket.close() } catch { /* already closed */ }
    this.counters.flowsClosed++
    this.counters.activeFlows = this.#flows.size
  }

  #startSweep (): void {
    if (this.#sweep !== undefined) return
    this.#sweep = setInterval(() => {
      const oldest = performance.now() - SUDP_HOME_IDLE_MS
      for (const [stream, flow] of this.#flows) {
        if (flow.lastSeen >= oldest) continue
        if (flow.ending) stream.reset(ResetCode.TIMEOUT)
        else { flow.ending = true; flow.pipe.end() }
      }
      if (this.#flows.size === 0) { clearInterval(this.#sweep); this.#sweep = undefined }
    }, SWEEP_MS).unref()
  }

  /** Resets every flow (a reload removed or changed the proxy) and refuses new ones; idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweep)
    const n = this.#flows.size
    for (const stream of [...this.#flows.keys()]) stream.reset(ResetCode.CANCEL)
    if (n > 0 || this.counters.flowsOpened > 0) this.#log.info({ flows: n, ...this.summary() }, 'sudp proxy stopped')
  }

  summary (): Record<string, unknown> {
    const c = this.counters
    return { datagramsIn: c.datagramsIn, bytesIn: c.bytesIn, datagramsOut: c.datagramsOut, bytesOut: c.bytesOut, flowsOpened: c.flowsOpened, drops: dropsSummary(c.drops) }
  }
}
