// A connection used for request/response: send a request, wait for exactly `replySize` bytes.
// Bytes nobody asked for, a close or an error before the whole reply: the connection is broken
// and the caller replaces it.
import type { Socket } from 'node:net'
import { ABANDONED, timeoutFailure, type Abandoned } from './dial.js'
import { OpFailure } from './error-kinds.js'

interface Pending {
  replySize: number
  received: number
  resolve: (r: true | OpFailure | Abandoned) => void
}

export class ExchangeConnection {
  readonly socket: Socket
  #pending: Pending | undefined
  #broken: OpFailure | undefined

  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk.length) })
    socket.on('error', (err) => { this.#breakWith(OpFailure.from(err)) })
    socket.on('end', () => { this.#breakWith(new OpFailure('closed', 'the service closed the connection before the whole reply')) })
    socket.on('close', () => { this.#breakWith(new OpFailure('closed', 'the connection closed before the whole reply')) })
  }

  get broken (): boolean { return this.#broken !== undefined }

  /** Sends `request` and resolves when `replySize` bytes came back (at once when 0). */
  exchange (request: Buffer, replySize: number, timeoutMs: number, signal: AbortSignal): Promise<true | OpFailure | Abandoned> {
    if (this.#broken !== undefined) return Promise.resolve(this.#broken)
    return new Promise((resolve) => {
      const finish = (r: true | OpFailure | Abandoned): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#pending = undefined
        resolve(r)
      }
      const onAbort = (): void => { finish(ABANDONED) }
      const timer = setTimeout(() => {
        this.#broken = timeoutFailure('reply', timeoutMs)
        finish(this.#broken)
      }, timeoutMs)
      this.#pending = { replySize, received: 0, resolve: finish }
      signal.addEventListener('abort', onAbort, { once: true })
      if (request.length > 0) this.socket.write(request)
      if (replySize === 0) finish(true)
    })
  }

  destroy (): void {
    this.socket.destroy()
  }

  #onData (n: number): void {
    const p = this.#pending
    if (p === undefined) {
      this.#breakWith(new OpFailure('protocol', `${n} B arrived with no request outstanding`))
      return
    }
    p.received += n
    if (p.received === p.replySize) p.resolve(true)
    else if (p.received > p.replySize) {
      this.#broken = new OpFailure('protocol', `${p.received} B reply, expected ${p.replySize} B`)
      p.resolve(this.#broken)
    }
  }

  #breakWith (failure: OpFailure): void {
    this.#broken ??= failure
    this.#pending?.resolve(this.#broken)
  }
}
