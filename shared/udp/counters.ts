// Counters of one UDP proxy on one side. Directions are the visitor's: "in" = visitor → service,
// "out" = service → visitor. Each side counts the datagrams it handed on, and the ones it dropped
// by reason (received = handed on + dropped).
import { WARN_INTERVAL_MS } from '../timing.js'
import type { Logger } from 'pino'

export const UDP_DROP_REASONS = [
  /** The control connection's unsent bytes were over the datagram budget. */
  'congested',
  /** The session's datagram queue was full. */
  'queueFull',
  /** This flow's share of the session's datagram queue was full. */
  'flowQueueFull',
  /** The session closed with the datagram still queued. */
  'closed',
  /** The UDP socket's own send queue (kernel would block) was over its bound. */
  'sendQueueFull',
  /** Larger than the destination's family can carry (IPv4: 65,507 bytes). */
  'tooBig',
  /** A new flow at the flow cap, with no flow that could be evicted. */
  'flowLimit',
  /** A new flow from a source (an IPv4 address, an IPv6 /64) that holds maxFlowsPerSource flows of the proxy, none of them evictable. */
  'sourceFlowLimit',
  /** For a flow id this side does not know (it closed while the datagram was on its way). */
  'unknownFlow',
  /** The local service answered with ICMP port unreachable (nothing listens on localPort). */
  'refused',
  /** Arrived before the flow's local socket was connected, with its small backlog full. */
  'notConnected',
  /** Any other socket error. */
  'sendError',
  /**
   * Dropped by the kernel before the relay read it: the public socket's receive buffer was full
   * because the relay could not keep up (read from /proc/net/udp*, Linux only, every few seconds).
   */
  'rcvbuf',
  /** Over the proxy's transport.bandwidthLimit (a datagram cannot wait, so it is dropped). */
  'bandwidth',
] as const
export type UdpDropReason = typeof UDP_DROP_REASONS[number]

export const FLOW_CLOSE_REASONS = ['idle', 'evicted', 'peer', 'closed', 'error', 'replaced'] as const
export type FlowCloseReason = typeof FLOW_CLOSE_REASONS[number]

export interface UdpCounters {
  datagramsIn: number
  bytesIn: number
  datagramsOut: number
  bytesOut: number
  flowsOpened: number
  flowsClosed: number
  activeFlows: number
  drops: Record<UdpDropReason, number>
}

export function newUdpCounters (): UdpCounters {
  return {
    datagramsIn: 0,
    bytesIn: 0,
    datagramsOut: 0,
    bytesOut: 0,
    flowsOpened: 0,
    flowsClosed: 0,
    activeFlows: 0,
    drops: Object.fromEntries(UDP_DROP_REASONS.map((r) => [r, 0])) as Record<UdpDropReason, number>,
  }
}

export function totalDrops (c: UdpCounters): number {
  let n = 0
  for (const r of UDP_DROP_REASONS) n += c.drops[r]
  return n
}

/** The non-zero drop counters, for a log line. */
export function dropsSummary (drops: Record<UdpDropReason, number>): Partial<Record<UdpDropReason, number>> {
  const out: Partial<Record<UdpDropReason, number>> = {}
  for (const r of UDP_DROP_REASONS) if (drops[r] > 0) out[r] = drops[r]
  return out
}

/** Per-flow tallies for the debug line when a flow closes. */
export interface FlowTally {
  datagramsIn: number
  bytesIn: number
  datagramsOut: number
  bytesOut: number
  drops: number
}

export function newFlowTally (): FlowTally {
  return { datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, drops: 0 }
}

/** At most one "udp datagrams dropped" warning per proxy in this window. */
export const DROP_WARN_INTERVAL_MS = WARN_INTERVAL_MS

/**
 * Rate-limited warning about drops: the first drop is reported at once, later ones at most once
 * per interval, each line with the totals so far and how many were dropped since the last line.
 */
export class DropWarner {
  readonly #log: Logger
  readonly #intervalMs: number
  #last = -Infinity
  #reported = 0

  constructor (log: Logger, intervalMs = DROP_WARN_INTERVAL_MS) {
    this.#log = log
    this.#intervalMs = intervalMs
  }

  note (counters: UdpCounters, now = performance.now()): void {
    if (now - this.#last < this.#intervalMs) return
    this.#last = now
    const total = totalDrops(counters)
    this.#log.warn({ dropped: total - this.#reported, drops: dropsSummary(counters.drops), datagramsIn: counters.datagramsIn, datagramsOut: counters.datagramsOut }, 'udp datagrams dropped')
    this.#reported = total
  }
}

/** A flow's counters as log fields. */
export function flowFields (t: FlowTally): Record<string, number> {
  return { datagramsIn: t.datagramsIn, bytesIn: t.bytesIn, datagramsOut: t.datagramsOut, bytesOut: t.bytesOut, drops: t.drops }
}
