// The relay's answer to a client's diagRequest: its own side of that client's control
// connection (peer-view.ts), or why it cannot give it. Never throws: every failure is an answer.
// Each report runs `ss`, so a session may ask at most DIAG_BURST times at once and then once per
// DIAG_INTERVAL_MS (DiagRateLimit); the excess is answered TUN_RELAY_BUSY without running anything.
import type { Logger } from 'pino'
import type { ErrorCode } from '../shared/errors.js'
import type { RelaySession } from '../shared/mux/index.js'
import { normalizeAddress, parseHostPort } from '../shared/net/index.js'
import { MessageType } from '../shared/wire/index.js'
import type { PeerViewSource } from './peer-view.js'

/** Diagnostic requests a session may make back to back. */
export const DIAG_BURST = 2
/** Then one more per this many ms (`tunnel diag --admin` asks once per run). */
export const DIAG_INTERVAL_MS = 5_000

/** A token bucket of diagnostic requests for one session; the clock is injected for tests. */
export class DiagRateLimit {
  readonly #now: () => number
  #tokens = DIAG_BURST
  #last: number
  /** Requests refused so far. */
  refused = 0

  constructor (now: () => number = () => performance.now()) {
    this.#now = now
    this.#last = now()
  }

  /** Takes a token, or returns false (and counts a refusal) when there is none. */
  take (): boolean {
    const now = this.#now()
    this.#tokens = Math.min(DIAG_BURST, this.#tokens + (now - this.#last) / DIAG_INTERVAL_MS)
    this.#last = now
    if (this.#tokens < 1) { this.refused++; return false }
    this.#tokens -= 1
    return true
  }
}

export function answerDiag (session: RelaySession, source: PeerViewSource | undefined, remote: string, id: number, log: Logger, limit?: DiagRateLimit): void {
  const refuse = (code: ErrorCode, message: string): void => { session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: false, code, message }) }
  if (limit !== undefined && !limit.take()) {
    refuse('TUN_RELAY_BUSY', `at most ${DIAG_BURST} diagnostic requests at once and one per ${DIAG_INTERVAL_MS / 1000} s per session: ask again in a moment`)
    return
  }
  const peer = parseHostPort(remote)
  if (source === undefined || 'error' in peer) { refuse('TUN_DIAG_SOURCE', 'this relay cannot report on the connection'); return }
  source(normalizeAddress(peer.host), peer.port).then((view) => {
    if (view === 'busy') { refuse('TUN_RELAY_BUSY', 'the relay is already reporting on another connection: ask again in a moment'); return }
    session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: true, view })
  }, (err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err)
    log.warn({ err: reason }, 'diag request failed')
    refuse('TUN_DIAG_SOURCE', `the relay could not read its side: ${reason}`)
  })
}
