// Reads a plugin's handshake (a SOCKS5 greeting, an HTTP CONNECT head) from a mux stream before
// the stream is handed on (to bridge() with a socket, or to a node:http server). Bytes wait
// here without credit until the parser takes them, so a visitor can send at most its stream
// window ahead; each parse step is bounded by the caller's byte limit, and the caller's deadline
// resets the stream. detach() gives back what was read but not taken, returning its credit; the
// next consumer must attach in the same tick (a stream delivers each event once).
import { TunnelError } from '../../shared/errors.js'
import type { MuxStream } from '../../shared/mux/index.js'

/** A SOCKS5 or HTTP CONNECT handshake must be complete within this (then the stream is reset). */
export const PLUGIN_HANDSHAKE_TIMEOUT_MS = 10_000

type Waiter = { check: () => boolean, reject: (err: Error) => void }

export class StreamReader {
  readonly #stream: MuxStream
  #chunks: Buffer[] = []
  #length = 0
  /** The visitor sent FIN. */
  #ended = false
  #closed: Error | undefined
  #waiter: Waiter | undefined
  #detached = false

  constructor (stream: MuxStream) {
    this.#stream = stream
    stream.attach({
      data: (chunk) => {
        if (this.#detached) return
        this.#chunks.push(chunk)
        this.#length += chunk.length
        this.#wake()
      },
      end: () => { this.#ended = true; this.#wake() },
      drain: () => {},
      close: (err) => {
        this.#closed = err ?? new TunnelError('TUN_STREAM_RESET', 'the stream closed during the handshake')
        this.#wake()
      },
    })
  }

  /** Bytes read and not taken. */
  get buffered (): number { return this.#length }
  get ended (): boolean { return this.#ended }

  /** The buffered bytes (not taken). */
  peek (): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)]
    return this.#chunks[0] ?? Buffer.alloc(0)
  }

  /** Removes `n` buffered bytes and returns their credit to the visitor. */
  take (n: number): Buffer {
    const all = this.peek()
    const out = all.subarray(0, n)
    this.#chunks = all.length > n ? [all.subarray(n)] : []
    this.#length -= out.length
    this.#stream.consume(out.length)
    return out
  }

  /**
   * Resolves once `ready()` says the buffered bytes suffice (it is asked after every arrival).
   * Rejects with TUN_PLUGIN_REQUEST when the visitor ends first or more than `maxBytes` are
   * buffered without ready() saying so, or with the stream's error when it closes.
   */
  async until (ready: (buffered: Buffer) => boolean, maxBytes: number): Promise<void> {
    if (this.#waiter !== undefined) throw new Error('StreamReader: one wait at a time')
    await new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (this.#closed !== undefined) { reject(this.#closed); return true }
        if (this.#length > 0 && ready(this.peek())) { resolve(); return true }
        if (this.#length > maxBytes) { reject(new TunnelError('TUN_PLUGIN_REQUEST', `the request is longer than ${maxBytes} bytes`)); return true }
        if (this.#ended) { reject(new TunnelError('TUN_PLUGIN_REQUEST', 'the visitor ended the connection in the middle of the request')); return true }
        return false
      }
      if (!check()) this.#waiter = { check, reject }
    })
  }

  /** Resolves when `n` bytes are buffered (see until()). */
  async need (n: number): Promise<void> {
    await this.until((b) => b.length >= n, n)
  }

  /**
   * Stops reading: returns the bytes not taken (their credit goes back to the visitor) and
   * whether the visitor already sent FIN. The next consumer attaches to the stream at once.
   */
  detach (): { rest: Buffer, ended: boolean } {
    const rest = this.take(this.#length)
    this.#detached = true
    this.#waiter = undefined
    return { rest, ended: this.#ended }
  }

  #wake (): void {
    const w = this.#waiter
    if (w !== undefined && w.check()) this.#waiter = undefined
  }
}
