// One multiplexed stream: send queue bounded by the peer's credit, receive window whose credit
// is returned only when the consumer has really taken the bytes, FIN in each direction, RESET.
//
// The send queue pauses its source (write() returns false) at STREAM_SEND_HWM_BYTES. Every
// stream's queue also counts toward its session's buffer cap (what a relay read from visitors
// and could not send yet): while the session is over the cap, a stream holds at most one socket
// read, and only one its credit lets it send at once, so a peer that returns no credit stops its
// visitors instead of growing the session, and a stream that has credit never stalls because of
// the others (it pauses only until its frame is out or its credit comes back).
import { TunnelError, type ErrorCode } from '../errors.js'
import { ResetCode, type OpenHeader } from '../wire/index.js'
import { nextWindow } from './window.js'
import { releaseRead } from './read-pool.js'

/** What the session does for its streams. */
export interface StreamHost {
  scheduleSend (stream: MuxStream): void
  sendWindowUpdate (stream: MuxStream, delta: number, ack: boolean): void
  sendReset (stream: MuxStream, code: number): void
  streamClosed (stream: MuxStream): void
  /** May this stream's receive window grow by `bytes`? Reserves them when it may. */
  reserveWindow (bytes: number): boolean
  releaseWindow (bytes: number): void
  /** The RTT window tuning goes by (recent ping samples; 0 before the first). */
  tuningRttMs (): number
  /** The session's monotonic clock in milliseconds. */
  now (): number
  /** Bytes entered (> 0) or left (< 0) this stream's send queue: the session keeps the sum. */
  buffered (delta: number): void
  /** The session's streams hold at least its buffer cap. */
  bufferFull (): boolean
  /** This stream paused its source because the session was over its buffer cap (counted). */
  bufferPaused (): void
}

/** The consumer of a stream's events; attach() delivers what arrived before it. */
export interface StreamHandler {
  data (chunk: Buffer): void
  /** The peer half-closed (FIN). */
  end (): void
  /** The queue fell below the high-water mark after write() returned false. */
  drain (): void
  /** The stream is gone: normally (both FINs) when err is undefined. */
  close (err?: TunnelError): void
}

/** Reset codes that mean more than "reset": the error a stream fails with when the peer sends one. */
const RESET_ERRORS: Partial<Record<number, ErrorCode>> = {
  [ResetCode.REFUSED]: 'TUN_LOCAL_DIAL',
  [ResetCode.TOO_MANY_STREAMS]: 'TUN_TOO_MANY_STREAMS',
  [ResetCode.FORBIDDEN]: 'TUN_VISIT_REFUSED',
  [ResetCode.RATE_LIMITED]: 'TUN_VISIT_RATE_LIMITED',
}

export const INITIAL_WINDOW_BYTES = 256 * 1024
/** write() returns false once this much is queued (the caller pauses its source). */
export const STREAM_SEND_HWM_BYTES = 128 * 1024
/**
 * The most one read of a socket delivers (libuv reads TCP in 64 KiB pieces): over the session's
 * buffer cap a stream keeps reading only while its unused credit covers one more read.
 */
export const SOCKET_READ_BYTES = 64 * 1024

export class MuxStream {
  readonly id: number
  /** The open header, for streams the peer opened. */
  readonly open: OpenHeader | undefined
  readonly #host: StreamHost

  // send side
  #sendWindow = INITIAL_WINDOW_BYTES
  #queue: Buffer[] = []
  #queueBytes = 0
  #blocked = false
  #ending = false
  #finSent = false
  /** For the scheduler: already in the ready list. */
  inReady = false

  // receive side
  #recvWindow = INITIAL_WINDOW_BYTES
  #windowSize = INITIAL_WINDOW_BYTES
  #unacked = 0
  #epochStart: number
  #remoteEnded = false

  #handler: StreamHandler | undefined
  #inbox: Buffer[] = []
  #endPending = false
  #closed = false
  #closeError: TunnelError | undefined
  bytesIn = 0
  bytesOut = 0

  constructor (host: StreamHost, id: number, open?: OpenHeader) {
    this.#host = host
    this.#epochStart = host.now()
    this.id = id
    this.open = open
  }

  get closed (): boolean { return this.#closed }
  get queuedBytes (): number { return this.#queueBytes }
  get receiveWindowBytes (): number { return this.#windowSize }

  attach (handler: StreamHandler): void {
    this.#handler = handler
    const inbox = this.#inbox
    this.#inbox = []
    for (const chunk of inbox) handler.data(chunk)
    if (this.#endPending) handler.end()
    if (this.#closed) handler.close(this.#closeError)
  }

  /** Queues bytes; false means "pause your source until drain". */
  write (chunk: Buffer): boolean {
    if (this.#closed || this.#ending) return false
    if (chunk.length > 0) {
      this.#queue.push(chunk)
      this.#queueBytes += chunk.length
      this.#host.buffered(chunk.length)
      this.#host.scheduleSend(this)
    }
    if (!this.#blocked) {
      if (this.#queueBytes >= STREAM_SEND_HWM_BYTES) this.#blocked = true
      else if (!this.#creditCoversNextRead()) {
        this.#blocked = true
        this.#host.bufferPaused()
      }
    }
    return !this.#blocked
  }

  /**
   * Under the session's buffer cap, always; over it, only while this stream holds less than one
   * socket read and its unused credit covers one more (so what it reads can leave at once).
   */
  #creditCoversNextRead (): boolean {
    if (!this.#host.bufferFull()) return true
    return this.#queueBytes < SOCKET_READ_BYTES && this.#sendWindow - this.#queueBytes >= SOCKET_READ_BYTES
  }

  /** A paused source may read again: the queue is down to half its mark and the buffer cap allows it. */
  #maybeUnblock (): void {
    if (!this.#blocked || this.#closed || this.#queueBytes >= STREAM_SEND_HWM_BYTES / 2 || !this.#creditCoversNextRead()) return
    this.#blocked = false
    this.#handler?.drain()
  }

  /** Half-close: FIN goes out after the queued bytes. */
  end (): void {
    if (this.#closed || this.#ending) return
    this.#ending = true
    this.#host.scheduleSend(this)
  }

  /** Abort both directions and tell the peer why. */
  reset (code: number = ResetCode.CANCEL): void {
    if (this.#closed) return
    this.#host.sendReset(this, code)
    this.#finish(new TunnelError('TUN_STREAM_RESET', `stream ${this.id} reset locally (code ${code})`))
  }

  /** Accept a stream the peer opened (ACK), granting the initial window. */
  accept (): void {
    if (!this.#closed) this.#host.sendWindowUpdate(this, 0, true)
  }

  /** The consumer has taken `bytes` of received data: return credit, maybe grow the window. */
  consume (bytes: number): void {
    if (this.#closed || this.#remoteEnded) return
    this.#unacked += bytes
    if (this.#unacked < this.#windowSize / 2) return
    const now = this.#host.now()
    const grow = nextWindow(this.#windowSize, now - this.#epochStart, this.#host.tuningRttMs())
    let delta = this.#unacked
    if (grow > this.#windowSize && this.#host.reserveWindow(grow - this.#windowSize)) {
      delta += grow - this.#windowSize
      this.#windowSize = grow
    }
    this.#epochStart = now
    this.#unacked = 0
    this.#recvWindow += delta
    this.#host.sendWindowUpdate(this, delta, false)
  }

  // ---- called by the session ----

  /** Has something to send now (data within credit, or the FIN). */
  sendable (): boolean {
    if (this.#closed || this.#finSent) return false
    if (this.#queueBytes > 0) return this.#sendWindow > 0
    return this.#ending
  }

  /** Takes up to `max` bytes within credit; `fin` when this is the last piece. */
  takeFrame (max: number): { payload: Buffer | undefined, fin: boolean } | undefined {
    if (!this.sendable()) return undefined
    let payload: Buffer | undefined
    const limit = Math.min(max, this.#sendWindow)
    if (this.#queueBytes > 0 && limit > 0) payload = this.#dequeue(limit)
    const fin = this.#ending && this.#queueBytes === 0
    if (fin) this.#finSent = true
    if (payload !== undefined) {
      this.#sendWindow -= payload.length
      this.bytesOut += payload.length
      this.#host.buffered(-payload.length)
    }
    this.#maybeUnblock()
    if (fin && this.#remoteEnded) this.#finish(undefined)
    return { payload, fin }
  }

  #dequeue (limit: number): Buffer {
    const first = this.#queue[0] as Buffer
    if (first.length <= limit) {
      this.#queue.shift()
      // Merge small queued writes into one frame so keystroke traffic costs one header.
      if (first.length < limit && this.#queue.length > 0) return this.#gather(first, limit)
      this.#queueBytes -= first.length
      return first
    }
    this.#queue[0] = first.subarray(limit)
    this.#queueBytes -= limit
    return first.subarray(0, limit)
  }

  #gather (first: Buffer, limit: number): Buffer {
    const parts = [first]
    let size = first.length
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Buffer
      if (size + next.length > limit) break
      parts.push(next)
      size += next.length
      this.#queue.shift()
    }
    this.#queueBytes -= size
    if (parts.length === 1) return first
    const merged = Buffer.concat(parts, size)
    // The pieces were copied: pooled read blocks among them may be reused (read-pool.ts).
    for (const part of parts) releaseRead(part)
    return merged
  }

  /** DATA from the peer; false when it broke the window (the session resets the stream). */
  onData (payload: Buffer): boolean {
    if (this.#closed) return true
    if (payload.length > this.#recvWindow) return false
    this.#recvWindow -= payload.length
    this.bytesIn += payload.length
    if (payload.length === 0) return true
    if (this.#handler === undefined) this.#inbox.push(payload)
    else this.#handler.data(payload)
    return true
  }

  onFin (): void {
    if (this.#closed || this.#remoteEnded) return
    this.#remoteEnded = true
    if (this.#handler === undefined) this.#endPending = true
    else this.#handler.end()
    if (this.#finSent) this.#finish(undefined)
  }

  onWindowUpdate (delta: number): void {
    if (this.#closed) return
    this.#sendWindow += delta
    if (this.sendable()) this.#host.scheduleSend(this)
    this.#maybeUnblock()
  }

  onReset (code: number): void {
    if (this.#closed) return
    const name = Object.entries(ResetCode).find(([, v]) => v === code)?.[0] ?? String(code)
    this.#finish(new TunnelError(RESET_ERRORS[code] ?? 'TUN_STREAM_RESET', `stream ${this.id} reset by peer (${name})`))
  }

  /** The session is gone: fail the stream with its reason. */
  abort (err: TunnelError): void {
    if (!this.#closed) this.#finish(err)
  }

  #finish (err: TunnelError | undefined): void {
    this.#closed = true
    this.#closeError = err
    // Nobody will send these bytes now: pooled read blocks among them may be reused.
    for (const chunk of this.#queue) releaseRead(chunk)
    this.#queue = []
    if (this.#queueBytes > 0) this.#host.buffered(-this.#queueBytes)
    this.#queueBytes = 0
    this.#host.releaseWindow(this.#windowSize - INITIAL_WINDOW_BYTES)
    this.#host.streamClosed(this)
    if (this.#handler !== undefined) this.#handler.close(err)
  }
}
