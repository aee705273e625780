// The client's UDP flows of one session: DGRAM+SYN opens a flow (a local socket of the proxy
// named in the flow-open block), DGRAM carries datagrams to it, FIN closes it. Replies from the
// local service go back on the flow's id. Flows expire when idle (a little after the relay, which
// normally closes them first), the proxy's flow cap evicts the least recently used, and every
// flow ends with the session. The forwarders map is live: a reload adds proxies to it, and
// retire() closes the flows of one it took out (a removed or changed proxy).
import type { Logger } from 'pino'
import type { Session } from '../shared/mux/index.js'
import { formatHostPort } from '../shared/net/index.js'
import { flowFields, type FlowCloseReason, FlowTable } from '../shared/udp/index.js'
import { decodeFlowOpen, Flag } from '../shared/wire/index.js'
import type { LocalFlow, LocalFlowHooks, UdpForwarder } from './udp-forwarder.js'

/** The client expires an idle flow this long after the relay would: the relay's FIN comes first. */
export const CLIENT_IDLE_GRACE_MS = 1_000
/** Ids answered with a FIN because they were unknown, remembered so each is answered once. */
const FINNED_IDS_MAX = 4096

export interface UdpFlowsOptions {
  /** Monotonic milliseconds for flow idle times (tests inject one); default performance.now. */
  now?: () => number
}

export class UdpFlows {
  readonly #session: Session
  readonly #forwarders: ReadonlyMap<string, UdpForwarder>
  readonly #log: Logger
  readonly #flows = new Map<number, { flow: LocalFlow, fwd: UdpForwarder }>()
  readonly #tables = new Map<UdpForwarder, FlowTable<number, LocalFlow>>()
  readonly #finned = new Set<number>()
  readonly #hooks: LocalFlowHooks
  readonly #now: () => number
  #sweep: NodeJS.Timeout | undefined
  #sweepMs = Infinity
  #closed = false
  /** Flows opened in this session (totals are logged at the end only when there were some). */
  #opened = 0
  /** Datagrams for flows this side does not know (answered with a FIN). */
  unknownFlow = 0
  /** Flows opened for a proxy name this client does not have (answered with a FIN). */
  unknownProxy = 0

  readonly #relayAddress: string
  /**
   * `relayAddress`: the relay's address as this client reached it, the destination of PROXY v2
   * headers (with the proxy's public port).
   */
  constructor (session: Session, forwarders: ReadonlyMap<string, UdpForwarder>, log: Logger, relayAddress = '', options: UdpFlowsOptions = {}) {
    this.#relayAddress = relayAddress
    this.#now = options.now ?? (() => performance.now())
    this.#session = session
    this.#forwarders = forwarders
    this.#log = log
    for (const fwd of forwarders.values()) this.#tableFor(fwd)
    this.#hooks = {
      reply: (flow, datagram) => { this.#reply(flow, datagram) },
      failed: (flow) => { this.#closeId(flow.id, 'error', true) },
    }
    session.on('datagram', (id, flags, payload) => { this.#onDatagram(id, flags, payload) })
    session.once('close', () => { this.close() })
  }

  get size (): number { return this.#flows.size }

  /** The flow table of a forwarder, made on first use; the sweep keeps up with its idle timeout. */
  #tableFor (fwd: UdpForwarder): FlowTable<number, LocalFlow> {
    let table = this.#tables.get(fwd)
    if (table !== undefined) return table
    const idleMs = fwd.proxy.idleTimeout * 1000 + CLIENT_IDLE_GRACE_MS
    table = new FlowTable({ maxFlows: fwd.proxy.maxFlows, idleMs })
    this.#tables.set(fwd, table)
    const sweepMs = Math.max(100, Math.min(5_000, Math.floor(idleMs / 4)))
    if (sweepMs < this.#sweepMs && !this.#closed) {
      clearInterval(this.#sweep)
      this.#sweepMs = sweepMs
      this.#sweep = setInterval(() => { this.#expire() }, sweepMs).unref()
    }
    return table
  }

  /**
   * A reload took `fwd` out of the map: its flows close (the relay is told, so the visitor's next
   * datagram opens a flow on whatever now has the name) and its totals are logged.
   */
  retire (fwd: UdpForwarder): void {
    const table = this.#tables.get(fwd)
    if (table === undefined) return
    this.#tables.delete(fwd)
    const flows = table.clear()
    for (const [, flow] of flows) this.#finish(flow, fwd, 'closed', true)
    if (fwd.counters.flowsOpened > 0) fwd.logSummary()
  }

  #onDatagram (id: number, flags: number, payload: Buffer): void {
    if (this.#closed) return
    if ((flags & Flag.FIN) !== 0) { this.#closeId(id, 'peer', false); return }
    if ((flags & Flag.SYN) !== 0) { this.#open(id, payload); return }
    const entry = this.#flows.get(id)
    if (entry === undefined) {
      this.unknownFlow++
      this.#finUnknown(id)
      return
    }
    this.#tables.get(entry.fwd)?.touch(id, entry.flow, this.#now())
    entry.flow.send(payload)
  }

  #open (id: number, payload: Buffer): void {
    const { open, dataOffset } = decodeFlowOpen(payload) // malformed: ProtocolError, the session ends
    this.#finned.delete(id)
    const fwd = this.#forwarders.get(open.proxy)
    const table = fwd === undefined || this.#closed ? undefined : this.#tableFor(fwd)
    if (fwd === undefined || table === undefined) {
      this.unknownProxy++
      this.#session.closeFlow(id)
      return
    }
    if (this.#flows.has(id)) this.#closeId(id, 'replaced', false)
    const now = this.#now()
    const visitor = formatHostPort(open.visitor.address, open.visitor.port)
    const flow = fwd.open(id, visitor, now, this.#hooks, fwd.proxyHeader(open.visitor, this.#relayAddress))
    const { evicted } = table.add(id, flow, now)
    if (evicted !== undefined) this.#closeId(evicted.id, 'evicted', true)
    this.#flows.set(id, { flow, fwd })
    this.#opened++
    fwd.counters.flowsOpened++
    fwd.counters.activeFlows = table.size
    fwd.log.debug({ flowId: id, visitor }, 'udp flow opened')
    flow.send(payload.subarray(dataOffset))
  }

  #reply (flow: LocalFlow, datagram: Buffer): void {
    const entry = this.#flows.get(flow.id)
    if (entry === undefined || entry.flow !== flow) return
    if (!entry.fwd.admit(datagram.length)) { entry.fwd.drop('bandwidth', flow); return }
    const result = this.#session.sendDatagram(flow.id, datagram)
    if (result !== 'queued') { entry.fwd.drop(result, flow); return }
    this.#tables.get(entry.fwd)?.touch(flow.id, flow, this.#now())
    flow.tally.datagramsOut++
    flow.tally.bytesOut += datagram.length
    entry.fwd.counters.datagramsOut++
    entry.fwd.counters.bytesOut += datagram.length
  }

  /** Answers a datagram for an unknown flow with one FIN, so the relay drops its side too. */
  #finUnknown (id: number): void {
    if (this.#finned.has(id)) return
    if (this.#finned.size >= FINNED_IDS_MAX) this.#finned.clear()
    this.#finned.add(id)
    this.#session.closeFlow(id)
  }

  #closeId (id: number, reason: FlowCloseReason, tellPeer: boolean): void {
    const entry = this.#flows.get(id)
    if (entry === undefined) return
    this.#tables.get(entry.fwd)?.delete(id)
    this.#finish(entry.flow, entry.fwd, reason, tellPeer)
  }

  #finish (flow: LocalFlow, fwd: UdpForwarder, reason: FlowCloseReason, tellPeer: boolean): void {
    this.#flows.delete(flow.id)
    flow.close()
    if (tellPeer && !this.#session.closed) this.#session.closeFlow(flow.id)
    fwd.counters.flowsClosed++
    fwd.counters.activeFlows = this.#tables.get(fwd)?.size ?? 0
    fwd.log.debug({ flowId: flow.id, visitor: flow.visitor, reason, ageMs: Math.round(this.#now() - flow.openedAt), ...flowFields(flow.tally) }, 'udp flow closed')
  }

  #expire (): void {
    const now = this.#now()
    for (const [fwd, table] of this.#tables) {
      for (const [, flow] of table.expire(now)) this.#finish(flow, fwd, 'idle', true)
    }
  }

  /** The session ended: every flow goes (the relay forgets them too); totals are logged. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweep)
    for (const [fwd, table] of this.#tables) {
      for (const [, flow] of table.clear()) this.#finish(flow, fwd, 'closed', false)
      if (this.#opened > 0) fwd.logSummary() // not after every failed reconnect attempt
    }
    this.#flows.clear()
    if (this.unknownFlow > 0 || this.unknownProxy > 0) this.#log.debug({ unknownFlow: this.unknownFlow, unknownProxy: this.unknownProxy }, 'udp frames for unknown flows')
  }
}
