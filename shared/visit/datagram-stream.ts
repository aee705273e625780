// Whole UDP datagrams on a stream (pure): an sudp flow is one stream between the visitor client
// and the home client, and each datagram travels as `u16 length | bytes`, never split or merged
// on arrival. The reader holds at most one datagram it has not seen the end of.
import { TunnelError } from '../errors.js'
import { MAX_DATAGRAM_BYTES } from '../wire/index.js'

export const DATAGRAM_LENGTH_BYTES = 2

/** The length prefix and the datagram, for one stream write each (or throws TUN_FRAME_TOO_LARGE). */
export function frameDatagram (datagram: Buffer): Buffer {
  if (datagram.length > MAX_DATAGRAM_BYTES) throw new TunnelError('TUN_FRAME_TOO_LARGE', `a datagram of ${datagram.length} bytes is larger than UDP carries (${MAX_DATAGRAM_BYTES})`)
  const b = Buffer.allocUnsafe(DATAGRAM_LENGTH_BYTES + datagram.length)
  b.writeUInt16BE(datagram.length, 0)
  datagram.copy(b, DATAGRAM_LENGTH_BYTES)
  return b
}

/** Cuts a stream's bytes back into datagrams. */
export class DatagramReader {
  #parts: Buffer[] = []
  #bytes = 0

  /** Bytes held of a datagram not complete yet. */
  get bufferedBytes (): number { return this.#bytes }

  /** The datagrams complete with `chunk`; throws TUN_FRAME_TOO_LARGE for a length UDP cannot carry. */
  push (chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return []
    this.#parts.push(chunk)
    this.#bytes += chunk.length
    const out: Buffer[] = []
    for (;;) {
      if (this.#bytes < DATAGRAM_LENGTH_BYTES) break
      const head = this.#peek(DATAGRAM_LENGTH_BYTES)
      const length = head.readUInt16BE(0)
      if (length > MAX_DATAGRAM_BYTES) throw new TunnelError('TUN_FRAME_TOO_LARGE', `a datagram length of ${length} bytes is larger than UDP carries (${MAX_DATAGRAM_BYTES})`)
      if (this.#bytes < DATAGRAM_LENGTH_BYTES + length) break
      this.#take(DATAGRAM_LENGTH_BYTES)
      out.push(this.#take(length))
    }
    return out
  }

  /** The first `n` buffered bytes, without taking them. */
  #peek (n: number): Buffer {
    const first = this.#parts[0] as Buffer
    if (first.length >= n) return first.subarray(0, n)
    return Buffer.concat(this.#parts).subarray(0, n)
  }

  #take (n: number): Buffer {
    const first = this.#parts[0] as Buffer
    if (first.length >= n) {
      this.#bytes -= n
      if (first.length === n) this.#parts.shift()
      else this.#parts[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const all = Buffer.concat(this.#parts, this.#bytes)
    this.#bytes -= n
    this.#parts = this.#bytes === 0 ? [] : [all.subarray(n)]
    return all.subarray(0, n)
  }
}
