// The session's send queue for UDP datagrams. Datagrams are not flow-controlled like streams:
// when the control connection is congested or the queue is full they are dropped and counted
// (UDP's contract; buffering would only add latency). Bounded per session and per flow, so one
// flooding visitor cannot take the whole queue from the others.
import { Flag, FrameType, HEADER_BYTES, writeHeader } from '../wire/index.js'

/** Bytes of datagrams (plus per-entry overhead) waiting in one session's queue at most. */
export const DATAGRAM_QUEUE_BYTES = 1024 * 1024
/** Of which one flow may hold at most this much, or DATAGRAM_FLOW_QUEUE_MIN datagrams of its size. */
export const DATAGRAM_FLOW_QUEUE_BYTES = 128 * 1024
/**
 * A flow may always queue this many datagrams of the size it sends: one event-loop turn reads a
 * burst of large datagrams from the kernel at once (iperf3's default 32 KB datagrams lost 6.9 %
 * as flowQueueFull with 128 KiB alone), while a flood of small ones stays bounded by the bytes.
 */
export const DATAGRAM_FLOW_QUEUE_MIN = 16
/** New datagrams are dropped while the wire holds more than this unsent. */
export const DATAGRAM_WIRE_BUDGET_BYTES = 1024 * 1024
/** Bookkeeping charged per queued datagram, so that empty datagrams are bounded too. */
export const DATAGRAM_ENTRY_OVERHEAD_BYTES = 64
/** Datagrams up to this size are copied, headers and all, into one batch buffer per flush. */
const GATHER_MAX_BYTES = 8 * 1024
/** Compact the entry array once this many taken slots sit in front of it. */
const COMPACT_AFTER = 1024

export const QUEUE_DROP_REASONS = ['congested', 'queueFull', 'flowQueueFull', 'closed'] as const
export type QueueDropReason = typeof QUEUE_DROP_REASONS[number]

export interface DatagramQueueLimits {
  queueBytes: number
  flowQueueBytes: number
  wireBudgetBytes: number
}

export const DEFAULT_DATAGRAM_LIMITS: DatagramQueueLimits = {
  queueBytes: DATAGRAM_QUEUE_BYTES,
  flowQueueBytes: DATAGRAM_FLOW_QUEUE_BYTES,
  wireBudgetBytes: DATAGRAM_WIRE_BUDGET_BYTES,
}

interface Entry {
  id: number
  open: Buffer | undefined
  payload: Buffer
  cost: number
}

export interface DatagramQueueStats {
  /** Datagrams accepted into the queue, and handed to the wire. */
  queued: number
  sent: number
  sentBytes: number
  dropped: Record<QueueDropReason, number>
}

export class DatagramQueue {
  readonly #limits: DatagramQueueLimits
  #entries: Array<Entry | undefined> = []
  #head = 0
  #cost = 0
  readonly #perFlow = new Map<number, number>()
  readonly stats: DatagramQueueStats = { queued: 0, sent: 0, sentBytes: 0, dropped: { congested: 0, queueFull: 0, flowQueueFull: 0, closed: 0 } }

  constructor (limits: DatagramQueueLimits = DEFAULT_DATAGRAM_LIMITS) {
    this.#limits = limits
  }

  get empty (): boolean { return this.#head === this.#entries.length }
  get length (): number { return this.#entries.length - this.#head }
  /** Queued bytes including per-entry overhead (what the bounds are checked against). */
  get bytes (): number { return this.#cost }

  /** Queues a datagram (with its flow-open block when `open` is set), or says why it was dropped. */
  offer (id: number, payload: Buffer, open: Buffer | undefined, wirePendingBytes: number): 'queued' | QueueDropReason {
    const cost = payload.length + (open?.length ?? 0) + DATAGRAM_ENTRY_OVERHEAD_BYTES
    let reason: QueueDropReason | undefined
    // An empty queue (or a flow with nothing queued) always takes one datagram, whatever its
    // size: the bounds limit bursts, never the largest datagram.
    const flowCost = this.#perFlow.get(id) ?? 0
    if (wirePendingBytes > this.#limits.wireBudgetBytes) reason = 'congested'
    else if (this.#cost > 0 && this.#cost + cost > this.#limits.queueBytes) reason = 'queueFull'
    else if (flowCost > 0 && flowCost + cost > Math.max(this.#limits.flowQueueBytes, DATAGRAM_FLOW_QUEUE_MIN * cost)) reason = 'flowQueueFull'
    if (reason !== undefined) {
      this.stats.dropped[reason]++
      return reason
    }
    this.#entries.push({ id, open, payload, cost })
    this.#cost += cost
    this.#perFlow.set(id, flowCost + cost)
    this.stats.queued++
    return 'queued'
  }

  /**
   * Appends encoded DGRAM frames to `out` until about `maxBytes` of wire bytes (at least one
   * datagram when any is queued); returns the wire bytes appended. Small datagrams are gathered
   * into one buffer, so a burst of 1,200-byte datagrams costs one write, not two per datagram.
   */
  take (out: Buffer[], maxBytes: number): number {
    let wire = 0
    let batch: Entry[] = []
    let batchBytes = 0
    const flushBatch = (): void => {
      if (batch.length === 0) return
      const b = Buffer.allocUnsafe(batchBytes)
      let off = 0
      for (const e of batch) off = writeFrame(b, off, e)
      out.push(b)
      batch = []
      batchBytes = 0
    }
    while (this.#head < this.#entries.length && wire < maxBytes) {
      const e = this.#entries[this.#head] as Entry
      this.#entries[this.#head++] = undefined
      this.#release(e)
      const size = HEADER_BYTES + (e.open?.length ?? 0) + e.payload.length
      wire += size
      this.stats.sent++
      this.stats.sentBytes += e.payload.length
      if (e.payload.length <= GATHER_MAX_BYTES) {
        batch.push(e)
        batchBytes += size
        continue
      }
      flushBatch()
      const head = Buffer.allocUnsafe(size - e.payload.length)
      writeFrame(head, 0, { ...e, payload: EMPTY }, e.payload.length)
      out.push(head, e.payload)
    }
    flushBatch()
    this.#compact()
    return wire
  }

  /** Drops everything queued (the session closed); returns how many were dropped. */
  clear (): number {
    const n = this.length
    this.stats.dropped.closed += n
    this.#entries = []
    this.#head = 0
    this.#cost = 0
    this.#perFlow.clear()
    return n
  }

  #release (e: Entry): void {
    this.#cost -= e.cost
    const left = (this.#perFlow.get(e.id) ?? 0) - e.cost
    if (left <= 0) this.#perFlow.delete(e.id)
    else this.#perFlow.set(e.id, left)
  }

  #compact (): void {
    if (this.#head === this.#entries.length) {
      this.#entries = []
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
  }
}

const EMPTY = Buffer.alloc(0)

/** Header, flow-open block and payload of one datagram into `b` at `off`; returns the end. */
function writeFrame (b: Buffer, off: number, e: Entry, payloadLength = e.payload.length): number {
  const openLength = e.open?.length ?? 0
  off = writeHeader(b, off, FrameType.DGRAM, e.open === undefined ? 0 : Flag.SYN, e.id, openLength + payloadLength)
  if (e.open !== undefined) off += e.open.copy(b, off)
  off += e.payload.copy(b, off)
  return off
}
