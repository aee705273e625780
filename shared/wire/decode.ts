// Incremental, bounds-checked frame decoder. Lengths are checked against the per-type limit
// before a byte of payload is buffered; DATA payloads are handed on in pieces as they arrive
// (no copy to reassemble a 64 KiB frame across two socket reads).
import { ProtocolError } from '../errors.js'
import { FrameType, Flag, HEADER_BYTES, KNOWN_FLAGS, PROTOCOL_VERSION, frameTypeName, hasPayload, maxPayloadBytes, type FrameHeader } from './frame.js'

/**
 * Receives decoded frames. For DATA without SYN, `payload` may be one piece of the frame:
 * `final` is true on the last piece (a FIN flag applies then). Every other frame arrives whole
 * with `final` true.
 */
export type FrameSink = (header: FrameHeader, payload: Buffer, final: boolean) => void

const EMPTY = Buffer.alloc(0)

export class FrameDecoder {
  readonly #sink: FrameSink
  /** Bytes of an incomplete header or an incomplete whole-frame payload. */
  #pending: Buffer[] = []
  #pendingBytes = 0
  /** The header being worked on, once its 12 bytes are in. */
  #header: FrameHeader | undefined
  /** Payload bytes of the current frame still to come. */
  #remaining = 0
  #failed = false

  constructor (sink: FrameSink) {
    this.#sink = sink
  }

  /** Bytes held while waiting for the rest of a header or control payload. */
  get bufferedBytes (): number { return this.#pendingBytes }

  /** Feeds bytes; throws ProtocolError on malformed input, after which it ignores everything. */
  push (chunk: Buffer): void {
    if (this.#failed) return
    try {
      this.#consume(chunk)
    } catch (err) {
      this.#failed = true
      this.#pending = []
      this.#pendingBytes = 0
      throw err
    }
  }

  #consume (chunk: Buffer): void {
    let off = 0
    while (off < chunk.length) {
      const h = this.#header
      if (h === undefined) {
        const need = HEADER_BYTES - this.#pendingBytes
        if (this.#pendingBytes === 0 && chunk.length - off >= HEADER_BYTES) {
          this.#startFrame(parseHeader(chunk, off))
          off += HEADER_BYTES
        } else {
          const take = Math.min(need, chunk.length - off)
          this.#stash(chunk.subarray(off, off + take))
          off += take
          if (this.#pendingBytes === HEADER_BYTES) {
            const hdr = Buffer.concat(this.#pending, HEADER_BYTES)
            this.#pending = []
            this.#pendingBytes = 0
            this.#startFrame(parseHeader(hdr, 0))
          }
        }
        continue
      }
      const take = Math.min(this.#remaining, chunk.length - off)
      const piece = chunk.subarray(off, off + take)
      off += take
      this.#remaining -= take
      if (isStreamed(h)) {
        const final = this.#remaining === 0
        if (final) this.#header = undefined
        this.#sink(h, piece, final)
      } else {
        this.#stash(piece)
        if (this.#remaining === 0) {
          const payload = this.#pending.length === 1 ? this.#pending[0] as Buffer : Buffer.concat(this.#pending, this.#pendingBytes)
          this.#pending = []
          this.#pendingBytes = 0
          this.#header = undefined
          this.#sink(h, payload, true)
        }
      }
    }
  }

  #stash (piece: Buffer): void {
    this.#pending.push(piece)
    this.#pendingBytes += piece.length
  }

  #startFrame (h: FrameHeader): void {
    validateHeader(h)
    if (!hasPayload(h.type) || h.length === 0) {
      this.#sink(h, EMPTY, true)
      return
    }
    this.#header = h
    this.#remaining = h.length
  }
}

function isStreamed (h: FrameHeader): boolean {
  return h.type === FrameType.DATA && (h.flags & Flag.SYN) === 0
}

function parseHeader (b: Buffer, off: number): FrameHeader {
  const version = b[off] as number
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError('TUN_FRAME_INVALID', `frame version ${version} is not ${PROTOCOL_VERSION}: the peer speaks another protocol (or is not a tunnel)`)
  }
  return {
    type: b[off + 1] as number,
    flags: b.readUInt16BE(off + 2),
    id: b.readUInt32BE(off + 4),
    length: b.readUInt32BE(off + 8),
  }
}

/** Checks type, flags and length before anything is allocated for the payload. */
export function validateHeader (h: FrameHeader): void {
  if (h.type > FrameType.CONTROL) {
    throw new ProtocolError('TUN_FRAME_INVALID', `unknown frame type 0x${h.type.toString(16)}`)
  }
  if ((h.flags & ~KNOWN_FLAGS) !== 0) {
    throw new ProtocolError('TUN_FRAME_INVALID', `unknown flags 0x${h.flags.toString(16)} on frame type ${h.type}`)
  }
  if (hasPayload(h.type)) {
    const max = maxPayloadBytes(h.type, h.flags)
    if (h.length > max) {
      throw new ProtocolError('TUN_FRAME_TOO_LARGE', `a ${frameTypeName(h.type)} frame of ${h.length} bytes exceeds the limit of ${max} bytes`, { messageType: `${frameTypeName(h.type)} frame` })
    }
  }
  const sessionLevel = h.type === FrameType.PING || h.type === FrameType.GOAWAY || h.type === FrameType.CONTROL
  if (sessionLevel !== (h.id === 0)) {
    throw new ProtocolError('TUN_FRAME_INVALID', `frame type ${h.type} with id ${h.id}: ${sessionLevel ? 'session frames use id 0' : 'id 0 is reserved for the session'}`)
  }
}
