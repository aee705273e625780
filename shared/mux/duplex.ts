// A mux stream as a node Duplex, so node:http can speak over it (the relay's HTTP vhost sends
// requests to a client's service through an http.Agent whose "connections" are streams).
// Back-pressure both ways: write() waits for the stream's queue to drain; credit for received
// bytes goes back to the peer only once the readable side has room (held while it is full).
// No half-open state: when the peer ends, this side ends too (an idle keep-alive connection the
// service closed is then gone from the agent, not left writable into nothing). The few Socket
// methods node:http calls (setTimeout, setKeepAlive, setNoDelay, ref, unref) are provided;
// setTimeout is a real inactivity timer (the agent closes idle connections with it).
import { Duplex } from 'node:stream'
import { TunnelError } from '../errors.js'
import { ResetCode } from '../wire/index.js'
import type { MuxStream, StreamHandler } from './stream.js'

/** Readable buffer before credit is held back (the peer may still send up to its window). */
export const DUPLEX_READ_HWM_BYTES = 64 * 1024

export class MuxDuplex extends Duplex {
  readonly stream: MuxStream
  /** Inactivity timeout in ms (0 = none), as on net.Socket; node's http.Agent reads it. */
  timeout = 0
  #held = 0
  #pendingWrite: ((err?: Error | null) => void) | undefined
  #timer: NodeJS.Timeout | undefined
  /** Direct mode (see direct()): the stream's events go to this handler, not through the Readable. */
  #direct: StreamHandler | undefined
  #directHeld = false

  constructor (stream: MuxStream) {
    super({ allowHalfOpen: false, readableHighWaterMark: DUPLEX_READ_HWM_BYTES })
    this.stream = stream
    stream.attach({
      data: (chunk) => {
        this.#touch()
        const d = this.#direct
        if (d !== undefined) {
          // Credit goes back at once unless the consumer holds it (its own sink is full).
          if (this.#directHeld) this.#held += chunk.length
          else stream.consume(chunk.length)
          d.data(chunk)
        } else if (this.push(chunk)) stream.consume(chunk.length)
        else this.#held += chunk.length
      },
      end: () => {
        if (this.#direct !== undefined) this.#direct.end()
        else this.push(null)
      },
      drain: () => {
        this.#release()
        this.#direct?.drain()
      },
      close: (err) => {
        this.#release(err)
        const d = this.#direct
        if (d !== undefined) {
          d.close(err)
          this.destroy()
        } else if (err !== undefined) this.destroy(err)
        else this.push(null)
      },
    })
  }

  /**
   * Direct mode, for a consumer that speaks to the stream itself (the vhost's fast path): from
   * now on the stream's data, end, drain and close go to `handler` (until another is set), not
   * through this Duplex's Readable side; write with writeDirect(). undefined goes back to the
   * Readable side (e.g. for pipe()).
   * Saves node's stream machinery on every chunk. Back-pressure: holdReads(true) keeps the
   * credit of what arrives (the peer stops within its window) until holdReads(false).
   */
  direct (handler: StreamHandler | undefined): void {
    this.#direct = handler
  }

  /** Queues bytes on the stream (direct mode); false = wait for the handler's drain. */
  writeDirect (chunk: Buffer): boolean {
    this.#touch()
    return this.stream.write(chunk)
  }

  /** Direct mode: hold back (true) or give back (false) the credit of received bytes. */
  holdReads (hold: boolean): void {
    this.#directHeld = hold
    if (!hold && this.#held > 0) {
      const n = this.#held
      this.#held = 0
      this.stream.consume(n)
    }
  }

  override _read (): void {
    if (this.#held === 0) return
    const n = this.#held
    this.#held = 0
    this.stream.consume(n)
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.stream.closed) { callback(new TunnelError('TUN_STREAM_RESET', `stream ${this.stream.id} is closed`)); return }
    this.#touch()
    if (this.stream.write(chunk)) callback()
    else this.#pendingWrite = callback
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.stream.end()
    callback()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    // Both ways ended cleanly (the peer's FIN in, ours queued by _final): the stream closes by
    // itself once that FIN is out; a reset here would overtake it and abort the peer's side.
    const cleanEnd = err === null && this.writableFinished && this.readableEnded
    if (!this.stream.closed && !cleanEnd) this.stream.reset(ResetCode.CANCEL)
    this.#release(err ?? undefined)
    callback(err)
  }

  #release (err?: Error): void {
    const cb = this.#pendingWrite
    this.#pendingWrite = undefined
    cb?.(err ?? null)
  }

  #touch (): void {
    this.#timer?.refresh()
  }

  // ---- the parts of net.Socket node:http uses ----

  setTimeout (ms: number, callback?: () => void): this {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.timeout = ms
    // As net.Socket: 0 turns the timer off and removes the callback (node:http relies on it).
    if (ms === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback)
      return this
    }
    if (callback !== undefined) this.once('timeout', callback)
    this.#timer = setTimeout(() => { this.emit('timeout') }, ms).unref()
    return this
  }

  setKeepAlive (): this { return this }
  setNoDelay (): this { return this }
  ref (): this { return this }
  unref (): this { return this }
}
