// The introduction's side of a visit stream: whole framed messages in (intro.ts), bytes out, and
// the stream's end, which ends the direct path it introduced (the visit stays open while the path
// lives, so the relay's caps on visits bound direct paths too, and either side closing it closes
// the path on both).
import { TunnelError } from '../../shared/errors.js'
import type { MuxStream } from '../../shared/mux/index.js'
import { IntroReader } from './intro.js'

export class IntroChannel {
  readonly stream: MuxStream
  readonly #reader = new IntroReader()
  #frame: { json: Buffer, mac: Buffer } | undefined
  #waiting: ((f: { json: Buffer, mac: Buffer } | TunnelError) => void) | undefined
  #closed: TunnelError | undefined
  readonly #onClose: Array<(err: TunnelError | undefined) => void> = []
  #got = false

  constructor (stream: MuxStream) {
    this.stream = stream
    stream.attach({
      data: (chunk) => {
        stream.consume(chunk.length)
        if (this.#got) { stream.reset(); return }
        let f
        try { f = this.#reader.push(chunk) } catch (err) { this.#fail(err as TunnelError); stream.reset(); return }
        if (f === undefined) return
        this.#got = true
        this.#frame = f
        this.#waiting?.(f)
      },
      end: () => { stream.end() },
      drain: () => {},
      close: (err) => { this.#fail(err ?? new TunnelError('TUN_STREAM_RESET', 'the introduction stream ended')) },
    })
  }

  get closed (): boolean { return this.#closed !== undefined }

  #fail (err: TunnelError): void {
    if (this.#closed !== undefined) return
    this.#closed = err
    this.#waiting?.(err)
    for (const cb of this.#onClose.splice(0)) cb(err)
  }

  send (frame: Buffer): void { this.stream.write(frame) }

  /** The peer's one message, or a TunnelError (timeout, reset, refusal). */
  async message (timeoutMs: number): Promise<{ json: Buffer, mac: Buffer }> {
    if (this.#frame !== undefined) return this.#frame
    if (this.#closed !== undefined) throw this.#closed
    const r = await new Promise<{ json: Buffer, mac: Buffer } | TunnelError>((resolve) => {
      const timer = setTimeout(() => { resolve(new TunnelError('TUN_DIRECT_PATH_FAILED', `no introduction from the peer within ${timeoutMs} ms`)) }, timeoutMs)
      this.#waiting = (f) => { clearTimeout(timer); resolve(f) }
    })
    this.#waiting = undefined
    if (r instanceof TunnelError) throw r
    return r
  }

  /** `cb` once the stream is gone (at once if it is). */
  onClose (cb: (err: TunnelError | undefined) => void): void {
    if (this.#closed !== undefined) { cb(this.#closed); return }
    this.#onClose.push(cb)
  }

  close (): void {
    if (this.#closed !== undefined) return
    this.stream.reset()
  }
}
