// A Wire for driving a mux Session without a socket: the test decides how many bytes are still
// unsent (so it decides when a flush may happen), feeds frames in as if from the peer, and reads
// back every batch the session wrote, decoded.
import { SEND_BUDGET_BYTES } from '../../shared/mux/session.js'
import type { Wire } from '../../shared/mux/wire.js'
import type { TunnelError } from '../../shared/errors.js'
import { FrameDecoder } from '../../shared/wire/decode.js'
import type { FrameHeader } from '../../shared/wire/frame.js'

export interface WrittenFrame {
  h: FrameHeader
  payload: Buffer
}

export interface FakeWireOptions {
  /**
   * After each batch the wire reports a full send budget unsent until drain(): every drain()
   * then allows exactly one flush, so a test can count what each flush carried.
   */
  busyAfterWrite?: boolean
  /** The peer takes nothing: every byte written stays pending until drain(). */
  holdWrites?: boolean
}

export class FakeWire implements Wire {
  pending = 0
  readonly batches: Buffer[][] = []
  /** Bytes written so far. */
  written = 0
  closed: 'no' | 'flushed' | 'aborted' = 'no'
  /** The session asked the wire to stop reading from the peer (receive() still delivers: the test is the peer). */
  readingPaused = false
  /** Times the session paused reading. */
  pauses = 0
  readonly #busyAfterWrite: boolean
  readonly #holdWrites: boolean
  #data: (chunk: Buffer) => void = () => {}
  #drain: () => void = () => {}
  #close: (err: TunnelError | undefined) => void = () => {}

  constructor (options: FakeWireOptions = {}) {
    this.#busyAfterWrite = options.busyAfterWrite === true
    this.#holdWrites = options.holdWrites === true
  }

  write (chunks: Buffer[]): void {
    this.batches.push(chunks)
    for (const c of chunks) this.written += c.length
    if (this.#busyAfterWrite) this.pending = SEND_BUDGET_BYTES
    if (this.#holdWrites) for (const c of chunks) this.pending += c.length
  }

  pendingBytes (): number { return this.pending }
  /** Everything written except what is still pending. */
  takenBytes (): number { return this.written - this.pending }
  onData (cb: (chunk: Buffer) => void): void { this.#data = cb }
  onDrain (cb: () => void): void { this.#drain = cb }
  onClose (cb: (err: TunnelError | undefined) => void): void { this.#close = cb }
  close (abort: boolean): void { this.closed = abort ? 'aborted' : 'flushed' }
  pauseReading (): void { this.readingPaused = true; this.pauses++ }
  resumeReading (): void { this.readingPaused = false }

  /** Everything unsent has left: the session may flush again. */
  drain (): void {
    this.pending = 0
    this.#drain()
  }

  /** Bytes from the peer. */
  receive (...chunks: Buffer[]): void {
    for (const c of chunks) this.#data(c)
  }

  /** The connection went away under the session. */
  fail (err?: TunnelError): void { this.#close(err) }

  /** The frames of one batch (or of every batch so far), decoded, in order. */
  frames (batch?: number): WrittenFrame[] {
    const out: WrittenFrame[] = []
    const parts: Buffer[] = []
    const dec = new FrameDecoder((h, p, final) => {
      parts.push(p)
      if (!final) return
      out.push({ h, payload: Buffer.concat(parts.splice(0)) })
    })
    const batches = batch === undefined ? this.batches : [this.batches[batch] ?? []]
    for (const b of batches) for (const c of b) dec.push(c)
    return out
  }
}

/** One turn of the event loop: a flush the session scheduled has run. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
