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
import type { MuxStream } from './stream.js'

/** Readable buffer before credit is held back (the peer may still send up to its window). */
export const DUPLEX_READ_HWM_BYTES = 64 * 1024

export class MuxDuplex extends Duplex {
  readonly stream: MuxStream
  /** Inactivity timeout in ms (0 = none), as on net.Socket; node's http.Agent reads it. */
  timeout = 0
  #held = 0
  #pendingWrite: ((err?: Error | null) => void) | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (stream: MuxStream) {
    super({ allowHalfOpen: false, readableHighWaterMark: DUPLEX_READ_HWM_BYTES })
    this.stream = stream
    stream.attach({
      data: (chunk) => {
        this.#touch()
        if (this.push(chunk)) stream.consume(chunk.length)
        else this.#held += chunk.length
      },
      end: () => { this.push(null) },
      drain: () => { this.#release() },
      close: (err) => {
        this.#release(err)
        if (err !== undefined) this.destroy(err)
        else this.push(null)
      },
    })
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
