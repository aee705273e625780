// A public UDP socket for one proxy. Every visitor address+port (normalised) is a flow with an
// id; the first datagram of a flow carries the flow-open block (DGRAM+SYN), later ones only the
// id. Replies go back to the visitor's raw address (a udp6 socket cannot send to a plain IPv4
// address; the mapped form works). Idle flows expire; at the flow cap a new visitor evicts an
// old flow that is not established, or one idle for FLOW_PRESSURE_IDLE_MS, or one of the source
// holding the most flows, else its datagram is dropped. One source (an IPv4 address, an IPv6
// /64) holds at most maxFlowsPerSource flows, so thousands of source ports of one address cannot
// lock other visitors out (shared/udp/flow-table.ts). Everything is counted. A visitor the
// proxy's source filter refuses opens no flow (counted in `refused`).
import type { RemoteInfo, Socket } from 'node:dgram'
import type { Logger } from 'pino'
import type { Session } from '../shared/mux/index.js'
import { formatHostPort, normalizeAddress, bindUdp, maxDatagramBytesTo, readKernelUdpDrops } from '../shared/net/index.js'
import { DropWarner, dropsSummary, flowFields, newFlowTally, newUdpCounters, type FlowCloseReason, type FlowTally, type UdpCounters, type UdpDropReason, FlowTable } from '../shared/udp/index.js'
import { TokenBucket, type TokenBucketStats } from '../shared/limit/index.js'
import { encodeFlowOpen, type SourceSpec } from '../shared/wire/index.js'
import { ConnectionBudget } from './connection-budget.js'
import { SourceGate } from './source-gate.js'
import { visitorSource } from './source-counts.js'
import type { UdpHub } from './udp-hub.js'

/** SO_RCVBUF asked for on the public socket: room for bursts while the event loop is busy. */
export const PUBLIC_RECV_BUFFER_BYTES = 4 * 1024 * 1024
/** Replies are dropped while the public socket's send queue holds more than this. */
export const PUBLIC_SEND_QUEUE_BYTES = 1024 * 1024
/** A flow with at least this many datagrams each way is established: new flows do not evict it. */
export const ESTABLISHED_DATAGRAMS = 2
/** At the flow cap, an established flow silent for this long may make room for a new visitor. */
export const FLOW_PRESSURE_IDLE_MS = 30_000
/** How often the kernel's drop count of the public socket is read (it reads a /proc table). */
export const KERNEL_DROPS_POLL_MS = 5_000
/** Raw visitor address → normalised key prefix; cleared when it grows past this. */
const ADDRESS_CACHE_ENTRIES = 16_384

export interface UdpProxyOptions {
  idleTimeoutMs: number
  maxFlows: number
  /** Flows one source may hold at once; 0 or absent = no cap of its own. */
  maxFlowsPerSource?: number
  sources?: SourceSpec
  /** Bytes per second for the whole proxy, both directions (bandwidthLimitMode server); 0 = none. */
  bandwidthLimit?: number | undefined
  /** The relay's socket count (this proxy's socket is one fd). */
  budget?: ConnectionBudget
  /** Monotonic milliseconds for flow idle times and the bandwidth bucket (tests inject one); default performance.now. */
  now?: () => number
}

interface RelayFlow {
  id: number
  key: string
  /** What the visitor's flows count against: its IPv4 address or IPv6 /64. */
  source: string
  /** The raw rinfo address (mapped form on a dual-stack socket): what the socket sends to. */
  address: string
  port: number
  maxOut: number
  lastSeen: number
  openedAt: number
  /** The flow-open block, until a datagram carrying it has been queued. */
  openBlock: Buffer | undefined
  tally: FlowTally
}

/** Sweep interval for a given idle timeout: often enough to be on time, rarely enough to be free. */
export function sweepIntervalMs (idleMs: number): number {
  return Math.max(100, Math.min(5_000, Math.floor(idleMs / 4)))
}

export class UdpProxy {
  readonly type = 'udp'
  readonly name: string
  readonly port: number
  readonly counters: UdpCounters = newUdpCounters()
  readonly #socket: Socket
  readonly #session: Session
  readonly #hub: UdpHub
  readonly #log: Logger
  readonly #table: FlowTable<string, RelayFlow>
  readonly #warner: DropWarner
  readonly #gate: SourceGate
  readonly #prefixes = new Map<string, string>()
  readonly #sweep: NodeJS.Timeout
  readonly #family: 'IPv4' | 'IPv6'
  readonly #kernelDropsBase: number
  readonly #limiter: TokenBucket | undefined
  readonly #budget: ConnectionBudget
  readonly #now: () => number
  #kernelDropsReadAt = -Infinity
  #closed = false

  private constructor (name: string, socket: Socket, session: Session, hub: UdpHub, log: Logger, options: UdpProxyOptions) {
    this.name = name
    this.#socket = socket
    const bound = socket.address()
    this.port = bound.port
    this.#family = bound.family === 'IPv6' ? 'IPv6' : 'IPv4'
    this.#kernelDropsBase = readKernelUdpDrops(this.#family, this.port) ?? 0
    this.#session = session
    this.#hub = hub
    this.#log = log
    this.#now = options.now ?? (() => performance.now())
    this.#table = new FlowTable<string, RelayFlow>({
      maxFlows: options.maxFlows,
      idleMs: options.idleTimeoutMs,
      sourceOf: (f) => f.source,
      maxPerSource: options.maxFlowsPerSource ?? 0,
      pressureIdleMs: FLOW_PRESSURE_IDLE_MS,
    })
    this.#warner = new DropWarner(log)
    this.#gate = new SourceGate(options.sources ?? {}, log, this.#now)
    const rate = options.bandwidthLimit ?? 0
    this.#limiter = rate > 0 ? new TokenBucket(rate, { now: this.#now }) : undefined
    this.#budget = options.budget ?? ConnectionBudget.unlimited()
    this.#budget.holdSocket()
    socket.on('message', (msg, rinfo) => { this.#onMessage(msg, rinfo) })
    socket.on('error', (err) => { this.#onError(err) })
    this.#sweep = setInterval(() => { this.#expire() }, sweepIntervalMs(options.idleTimeoutMs)).unref()
  }

  /** Binds host:port (0 = any free port); throws TunnelError naming the address. */
  static async open (name: string, host: string, port: number, session: Session, hub: UdpHub, log: Logger, options: UdpProxyOptions): Promise<UdpProxy> {
    encodeFlowOpen({ proxy: name, visitor: { address: '0.0.0.0', port: 0 } }) // the name must fit the block
    const socket = await bindUdp(host, port, { recvBufferSize: PUBLIC_RECV_BUFFER_BYTES })
    const bound = socket.address().port
    return new UdpProxy(name, socket, session, hub, log.child({ proxy: name, remotePort: bound, udp: true }), options)
  }

  get activeFlows (): number { return this.#table.size }

  /** Bytes per second of the bandwidth limit applied here, or 0. */
  get bandwidthLimit (): number { return this.#limiter?.rate ?? 0 }

  /** Plain numbers, for logs and metrics (drops by reason include `bandwidth`). */
  get stats (): UdpCounters & { bandwidth: TokenBucketStats | null } {
    return { ...this.counters, drops: { ...this.counters.drops }, bandwidth: this.#limiter?.stats ?? null }
  }

  /** Datagrams from visitors the source filter refused (no flow was opened for them). */
  get refused (): number { return this.#gate.refused }

  #onMessage (msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return
    const now = this.#now()
    const key = this.#prefix(rinfo.address) + rinfo.port
    let flow = this.#table.get(key)
    // Over the bandwidth limit: dropped before it can open a flow.
    if (this.#limiter !== undefined && !this.#limiter.admit(msg.length)) { this.#drop('bandwidth', flow); return }
    if (flow === undefined) {
      flow = this.#openFlow(key, rinfo, now)
      if (flow === undefined) return
    } else {
      this.#table.touch(key, flow, now)
    }
    const result = this.#session.sendDatagram(flow.id, msg, flow.openBlock)
    if (result !== 'queued') {
      this.#drop(result, flow)
      return
    }
    flow.openBlock = undefined
    flow.tally.datagramsIn++
    flow.tally.bytesIn += msg.length
    this.counters.datagramsIn++
    this.counters.bytesIn += msg.length
  }

  /** `1.2.3.4:` or `[2001:db8::1]:` for a raw address, normalised once and cached. */
  #prefix (raw: string): string {
    let p = this.#prefixes.get(raw)
    if (p === undefined) {
      if (this.#prefixes.size >= ADDRESS_CACHE_ENTRIES) this.#prefixes.clear()
      p = formatHostPort(normalizeAddress(raw), 0).slice(0, -1)
      this.#prefixes.set(raw, p)
    }
    return p
  }

  #openFlow (key: string, rinfo: RemoteInfo, now: number): RelayFlow | undefined {
    const address = normalizeAddress(rinfo.address)
    if (!this.#gate.admits(address)) return undefined
    const flow: RelayFlow = {
      id: 0,
      key,
      source: visitorSource(address),
      address: rinfo.address,
      port: rinfo.port,
      maxOut: maxDatagramBytesTo(rinfo.address),
      lastSeen: now,
      openedAt: now,
      openBlock: encodeFlowOpen({ proxy: this.name, visitor: { address, port: rinfo.port } }),
      tally: newFlowTally(),
    }
    const { added, evicted, sourceFull } = this.#table.add(key, flow, now, (f) => !isEstablished(f.tally))
    if (!added) {
      this.counters.drops[sourceFull === true ? 'sourceFlowLimit' : 'flowLimit']++
      this.#warner.note(this.counters)
      return undefined
    }
    if (evicted !== undefined) this.#finish(evicted, 'evicted', true)
    flow.id = this.#hub.register({
      reply: (payload) => { this.#reply(flow, payload) },
      peerClosed: () => { this.#closeFlow(flow, 'peer', false) },
    })
    this.counters.flowsOpened++
    this.counters.activeFlows = this.#table.size
    this.#log.debug({ flowId: flow.id, visitor: key }, 'udp flow opened')
    return flow
  }

  #reply (flow: RelayFlow, payload: Buffer): void {
    if (this.#closed) return
    if (payload.length > flow.maxOut) { this.#drop('tooBig', flow); return }
    if (this.#socket.getSendQueueSize() > PUBLIC_SEND_QUEUE_BYTES) { this.#drop('sendQueueFull', flow); return }
    if (this.#limiter !== undefined && !this.#limiter.admit(payload.length)) { this.#drop('bandwidth', flow); return }
    try {
      this.#socket.send(payload, flow.port, flow.address)
    } catch {
      this.#drop('sendError', flow)
      return
    }
    this.#table.touch(flow.key, flow, this.#now())
    flow.tally.datagramsOut++
    flow.tally.bytesOut += payload.length
    this.counters.datagramsOut++
    this.counters.bytesOut += payload.length
  }

  #drop (reason: UdpDropReason, flow: RelayFlow | undefined): void {
    this.counters.drops[reason]++
    if (flow !== undefined) flow.tally.drops++
    this.#warner.note(this.counters)
  }

  #onError (err: Error): void {
    // Unconnected sockets rarely see errors (no ICMP reports); count and go on, never crash.
    this.counters.drops.sendError++
    this.#log.debug({ err: err.message, code: (err as NodeJS.ErrnoException).code }, 'udp socket error')
  }

  #closeFlow (flow: RelayFlow, reason: FlowCloseReason, tellPeer: boolean): void {
    if (this.#table.get(flow.key) !== flow) return
    this.#table.delete(flow.key)
    this.#finish(flow, reason, tellPeer)
  }

  /** The flow is already out of the table: unroute it, tell the client, count and log. */
  #finish (flow: RelayFlow, reason: FlowCloseReason, tellPeer: boolean): void {
    this.#hub.unregister(flow.id)
    if (tellPeer && !this.#session.closed) this.#session.closeFlow(flow.id)
    this.counters.flowsClosed++
    this.counters.activeFlows = this.#table.size
    this.#log.debug({ flowId: flow.id, visitor: flow.key, reason, ageMs: Math.round(this.#now() - flow.openedAt), ...flowFields(flow.tally) }, 'udp flow closed')
  }

  #expire (): void {
    const now = this.#now()
    for (const [, flow] of this.#table.expire(now)) this.#finish(flow, 'idle', true)
    if (now - this.#kernelDropsReadAt >= KERNEL_DROPS_POLL_MS) this.#readKernelDrops(now)
  }

  /** Datagrams the kernel dropped at our socket (we did not read fast enough). */
  #readKernelDrops (now: number): void {
    this.#kernelDropsReadAt = now
    const total = readKernelUdpDrops(this.#family, this.port)
    if (total === undefined) return
    const drops = total - this.#kernelDropsBase
    if (drops <= this.counters.drops.rcvbuf) return
    this.counters.drops.rcvbuf = drops
    this.#warner.note(this.counters)
  }

  /** Stops receiving at once (the port is free for a new owner) and closes every flow, telling the client. */
  close (): void {
    this.#shutdown(true)
  }

  /** The session is gone: close everything without telling anyone. */
  destroy (): void {
    this.#shutdown(false)
  }

  #shutdown (tellPeer: boolean): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweep)
    this.#readKernelDrops(this.#now())
    try { this.#socket.close() } catch { /* already closed */ }
    this.#budget.releaseSocket()
    for (const [, flow] of this.#table.clear()) this.#finish(flow, 'closed', tellPeer)
    const c = this.counters
    this.#log.info({ datagramsIn: c.datagramsIn, bytesIn: c.bytesIn, datagramsOut: c.datagramsOut, bytesOut: c.bytesOut, flowsOpened: c.flowsOpened, drops: dropsSummary(c.drops) }, 'udp proxy closed')
  }
}

/** Datagrams both ways, more than once each: a conversation, not a one-off or a spoofed probe. */
export function isEstablished (t: FlowTally): boolean {
  return t.datagramsIn >= ESTABLISHED_DATAGRAMS && t.datagramsOut >= ESTABLISHED_DATAGRAMS
}
