// The sudp visitor: a UDP socket on bindAddr:bindPort; every local source address and port is a
// flow, and every flow is one visit (a stream of whole datagrams, client/datagram-pipe.ts), so a
// DNS resolver or a game client gets its own flow toward the service. Flows end after
// SUDP_FLOW_IDLE_MS without a datagram either way (FIN, so the home client closes its socket);
// at MAX_SUDP_VISITOR_FLOWS the least recently used one makes room. After a refused visit, that
// source's datagrams are dropped for SUDP_REFUSED_HOLD_MS before a new visit is tried, so an
// application that keeps sending does not turn into a stream of refused visits.
import type { Socket } from 'node:dgram'
import type { VisitorConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { bindUdp, formatHostPort, normalizeAddress } from '../../shared/net/index.js'
import { newUdpCounters, type UdpCounters, type UdpDropReason } from '../../shared/udp/index.js'
import { visitKeysFor, type VisitKeys } from '../../shared/visit/index.js'
import { VisitKind } from '../../shared/wire/index.js'
import { DatagramPipe, SUDP_FLOW_IDLE_MS } from '../datagram-pipe.js'
import { RefusalLog, refusalOf } from './refusal-log.js'
import { newVisitorRefusals, targetName, type Visitor, type VisitorContext, type VisitorStats } from './visitor.js'

/** Flows (local source address and port) one sudp visitor keeps at once. */
export const MAX_SUDP_VISITOR_FLOWS = 256
/** After a refused visit, that source's datagrams are dropped this long before the next try. */
export const SUDP_REFUSED_HOLD_MS = 2_000
const SWEEP_MS = 5_000

interface Flow {
  pipe: DatagramPipe | undefined
  address: string
  port: number
  lastSeen: number
  /** Set while a refusal holds this source off (monotonic ms until which datagrams are dropped). */
  heldUntil: number
}

export class SudpVisitor implements Visitor {
  readonly config: VisitorConfig
  readonly target: string
  readonly #ctx: VisitorContext
  readonly #keys: VisitKeys
  readonly #refusalLog: RefusalLog
  readonly #refusals = newVisitorRefusals()
  readonly #counters: UdpCounters = newUdpCounters()
  /** By `address|port` of the local application, least recently used first. */
  readonly #flows = new Map<string, Flow>()
  #socket: Socket | undefined
  #local: string | null = null
  #sweep: NodeJS.Timeout | undefined
  #closed = false

  constructor (config: VisitorConfig, ctx: VisitorContext) {
    this.config = config
    this.target = targetName(ctx.user, config)
    this.#ctx = ctx
    this.#keys = visitKeysFor(config.secretKey.reveal(), this.target)
    this.#refusalLog = new RefusalLog(ctx.log, this.target, ctx.user)
  }

  get local (): string | null { return this.#local }

  async start (): Promise<void> {
    const socket = await bindUdp(this.config.bindAddr, this.config.bindPort)
    socket.on('error', () => { this.#counters.drops.sendError++ })
    if (this.#closed) { socket.close(); return }
    this.#socket = socket
    const addr = socket.address()
    this.#local = formatHostPort(normalizeAddress(addr.address), addr.port)
    socket.on('message', (msg, rinfo) => { this.#onDatagram(msg, rinfo.address, rinfo.port) })
    this.#sweep = setInterval(() => { this.#expire() }, SWEEP_MS).unref()
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweep)
    for (const flow of this.#flows.values()) flow.pipe?.stream.reset()
    this.#flows.clear()
    this.#counters.activeFlows = 0
    try { this.#socket?.close() } catch { /* already closed */ }
  }

  stats (): VisitorStats {
    const c = this.#counters
    return { streams: null, flows: { active: c.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refusals: { ...this.#refusals }, udpDrops: { ...c.drops } }
  }

  #onDatagram (msg: Buffer, address: string, port: number): void {
    if (this.#closed) return
    const key = `${address}|${port}`
    const now = performance.now()
    let flow = this.#flows.get(key)
    if (flow !== undefined) {
      this.#flows.delete(key) // re-inserted last: the most recently used
      this.#flows.set(key, flow)
      if (flow.heldUntil > now) { this.#drop('refused'); return }
    }
    if (flow === undefined || flow.pipe === undefined || flow.pipe.closed) {
      flow = this.#open(key, address, port, now)
      if (flow.pipe === undefined) { this.#drop('refused'); return }
    }
    flow.lastSeen = now
    const pipe = flow.pipe
    const before = pipe.sent
    pipe.send(msg)
    if (pipe.sent === before) return
    this.#counters.datagramsIn++
    this.#counters.bytesIn += msg.length
  }

  /** A new visit for this source (evicting the least recently used flow at the cap). */
  #open (key: string, address: string, port: number, now: number): Flow {
    this.#flows.delete(key)
    if (this.#flows.size >= MAX_SUDP_VISITOR_FLOWS) {
      const oldest = this.#flows.entries().next()
      if (oldest.done !== true) {
        this.#flows.delete(oldest.value[0])
        oldest.value[1].pipe?.end()
        this.#counters.drops.flowLimit++
      }
    }
    const flow: Flow = { pipe: undefined, address, port, lastSeen: now, heldUntil: 0 }
    this.#flows.set(key, flow)
    const listener = this.#socket?.address()
    const stream = this.#ctx.opener.open({
      kind: VisitKind.SUDP,
      keys: this.#keys,
      target: this.target,
      visitor: { address: normalizeAddress(address), port },
      listener: { address: normalizeAddress(listener?.address ?? ''), port: listener?.port ?? 0 },
    })
    if (stream instanceof TunnelError) {
      this.#refused(flow, stream)
      return flow
    }
    this.#counters.flowsOpened++
    flow.pipe = new DatagramPipe(stream, {
      deliver: (d) => { this.#toApplication(flow, d) },
      dropped: (reason) => { this.#drop(reason) },
      closed: (err) => {
        this.#counters.flowsClosed++
        if (err !== undefined && !this.#closed) this.#refused(flow, err)
        this.#counters.activeFlows = this.#activeCount()
      },
    })
    // Counted once its pipe is there: #activeCount() counts flows with an open pipe.
    this.#counters.activeFlows = this.#activeCount()
    return flow
  }

  #toApplication (flow: Flow, datagram: Buffer): void {
    flow.lastSeen = performance.now()
    const socket = this.#socket
    if (socket === undefined || this.#closed) return
    socket.send(datagram, flow.port, flow.address, (err) => { if (err !== null) this.#counters.drops.sendError++ })
    this.#counters.datagramsOut++
    this.#counters.bytesOut += datagram.length
  }

  #refused (flow: Flow, err: TunnelError): void {
    const reason = refusalOf(err)
    this.#refusals[reason]++
    this.#refusalLog.note(reason, err.code, this.#refusals)
    if (reason !== 'reset') flow.heldUntil = performance.now() + SUDP_REFUSED_HOLD_MS
  }

  #drop (reason: UdpDropReason): void { this.#counters.drops[reason]++ }

  #activeCount (): number {
    let n = 0
    for (const f of this.#flows.values()) if (f.pipe !== undefined && !f.pipe.closed) n++
    return n
  }

  #expire (): void {
    const now = performance.now()
    for (const [key, flow] of this.#flows) {
      const idle = now - flow.lastSeen >= SUDP_FLOW_IDLE_MS
      const gone = (flow.pipe === undefined || flow.pipe.closed) && flow.heldUntil <= now
      if (!idle && !gone) continue
      this.#flows.delete(key)
      if (flow.pipe !== undefined && !flow.pipe.closed) flow.pipe.end()
    }
    this.#counters.activeFlows = this.#activeCount()
  }
}
