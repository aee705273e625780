// The first 24 bytes of every datagram `tunnel bench udp` sends: who sent it (magic + run id),
// its sequence number and flow, and when it was sent. An echo sends it back unchanged, so loss,
// reordering, duplicates and latency are all read from the replies. Big-endian:
//   0 magic u32 'TUNB' · 4 run id u32 · 8 sequence u32 · 12 flow u16 · 14 reserved u16 · 16 sent-at f64 (ms)

import { UDP_HEADER_BYTES } from './limits.js'

export const UDP_MAGIC = 0x54554e42

export interface DatagramHeader {
  runId: number
  seq: number
  flow: number
  /** performance.now() of the sender at send time. */
  sentAtMs: number
}

export function writeHeader (buf: Buffer, h: DatagramHeader): void {
  buf.writeUInt32BE(UDP_MAGIC, 0)
  buf.writeUInt32BE(h.runId >>> 0, 4)
  buf.writeUInt32BE(h.seq >>> 0, 8)
  buf.writeUInt16BE(h.flow, 12)
  buf.writeUInt16BE(0, 14)
  buf.writeDoubleBE(h.sentAtMs, 16)
}

/** The header of a datagram of this run, or undefined for anything else (foreign, truncated). */
export function readHeader (buf: Buffer, runId: number): DatagramHeader | undefined {
  if (buf.length < UDP_HEADER_BYTES || buf.readUInt32BE(0) !== UDP_MAGIC || buf.readUInt32BE(4) !== runId >>> 0) return undefined
  return { runId, seq: buf.readUInt32BE(8), flow: buf.readUInt16BE(12), sentAtMs: buf.readDoubleBE(16) }
}

export interface SequenceCounts {
  /** Distinct sequence numbers received. */
  received: number
  duplicates: number
  /** Arrived after a higher sequence number of the same flow. */
  reordered: number
  /** Carried a sequence number that was never sent. */
  invalid: number
}

/** Which sequence numbers came back: a bitmap sized to what can have been sent. */
export class SequenceTracker {
  readonly #seen: Uint8Array
  readonly #highest: Int32Array
  readonly counts: SequenceCounts = { received: 0, duplicates: 0, reordered: 0, invalid: 0 }

  constructor (maxSeq: number, flows: number) {
    this.#seen = new Uint8Array(Math.ceil(maxSeq / 8))
    this.#highest = new Int32Array(flows).fill(-1)
  }

  /** Records one arrival; true when it is the first of its sequence number. */
  record (seq: number, flow: number, sent: number): boolean {
    if (seq >= sent || flow >= this.#highest.length || (seq >> 3) >= this.#seen.length) {
      this.counts.invalid++
      return false
    }
    const bit = 1 << (seq & 7)
    const byte = this.#seen[seq >> 3] ?? 0
    if ((byte & bit) !== 0) {
      this.counts.duplicates++
      return false
    }
    this.#seen[seq >> 3] = byte | bit
    this.counts.received++
    const highest = this.#highest[flow] ?? -1
    if (seq < highest) this.counts.reordered++
    else this.#highest[flow] = seq
    return true
  }
}
