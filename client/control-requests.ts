// Requests the client sends on a live session that wait for the relay's answer (a reload's
// register and unregister, a diagRequest): each gets a fresh id, which the relay copies into its result, so an
// answer is matched to its request even when several for one name are under way. Each waits at
// most `timeoutMs`; the session's end answers every pending request with TUN_SESSION_CLOSED.
import { TunnelError } from '../shared/errors.js'
import type { ClientSession } from '../shared/mux/index.js'
import { MAX_REQUEST_ID, type ClientMessage, type DiagResult, type ProxyResult, type UnregisterResult } from '../shared/wire/index.js'

/** The relay's result, or why there is none (TUN_RELOAD_TIMEOUT, TUN_SESSION_CLOSED). */
export type Answer = ProxyResult | UnregisterResult | DiagResult | TunnelError

export interface RequestTimeout {
  ms: number
  error: () => TunnelError
}

export class ControlRequests {
  readonly #timeoutMs: number
  readonly #waiting = new Map<number, (answer: Answer) => void>()
  #lastId = 0

  constructor (timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  get pending (): number { return this.#waiting.size }

  /** Sends `make(id)` on `session` and resolves with the answer to it (never rejects). */
  send (session: ClientSession, make: (id: number) => ClientMessage, timeout?: RequestTimeout): Promise<Answer> {
    this.#lastId = this.#lastId >= MAX_REQUEST_ID ? 1 : this.#lastId + 1
    const id = this.#lastId
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        settle(timeout?.error() ?? new TunnelError('TUN_RELOAD_TIMEOUT', `the relay did not answer within ${this.#timeoutMs} ms (a relay older than reload?)`))
      }, timeout?.ms ?? this.#timeoutMs)
      const settle = (answer: Answer): void => {
        clearTimeout(timer)
        this.#waiting.delete(id)
        resolve(answer)
      }
      this.#waiting.set(id, settle)
      if (session.closed) { settle(lostSession()); return }
      session.sendControl(make(id))
    })
  }

  /** A result from the relay: settles the request it names (results without an id are not ours). */
  answer (result: ProxyResult | UnregisterResult | DiagResult): void {
    if (result.id !== undefined) this.#waiting.get(result.id)?.(result)
  }

  /** The session ended: no answer will come. */
  sessionClosed (): void {
    const err = lostSession()
    for (const settle of [...this.#waiting.values()]) settle(err)
  }
}

function lostSession (): TunnelError {
  return new TunnelError('TUN_SESSION_CLOSED', 'the connection to the relay was lost before it answered')
}
