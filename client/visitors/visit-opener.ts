// Opens visits on the client's live control session: a stream whose open header names the
// secret proxy and carries a visit block with a fresh nonce, the time, and the two proofs of the
// secret (shared/visit/proof.ts), made over this client's user as the relay knows it. Every
// visitor of the client shares the one opener; it follows the logins and session ends.
import { TunnelError } from '../../shared/errors.js'
import type { ClientSession, MuxStream } from '../../shared/mux/index.js'
import { newVisitNonce, proveVisit, type VisitKeys } from '../../shared/visit/index.js'
import { Capability, type Endpoint, type VisitKind } from '../../shared/wire/index.js'

export interface VisitRequest {
  kind: VisitKind
  keys: VisitKeys
  /** The proxy's wire name. */
  target: string
  /** The local application (for the relay's and the service's logs: it is only informative). */
  visitor: Endpoint
  /** The visitor's listener. */
  listener: Endpoint
}

export class VisitOpener {
  readonly #user: string
  readonly #now: () => number
  #session: ClientSession | undefined
  #capable = false

  /** `user`: this client's login user; `now`: the wall clock for proofs (tests inject one). */
  constructor (user: string, now: () => number = Date.now) {
    this.#user = user
    this.#now = now
  }

  /** Logged in on `session`; visits go there until it closes. */
  attach (session: ClientSession, capabilities: ReadonlySet<string>): void {
    this.#session = session
    this.#capable = capabilities.has(Capability.VISIT)
    session.once('close', () => {
      if (this.#session === session) this.#session = undefined
    })
  }

  /** Connected, and the relay accepts visits. */
  get ready (): boolean { return this.#session !== undefined && !this.#session.closed && this.#capable }

  /** Whether the relay of the current login lacks the visit capability (undefined while not logged in). */
  get unsupported (): boolean | undefined { return this.#session === undefined ? undefined : !this.#capable }

  /** A new visit stream, or why there is none (not connected, no capability, no room for a stream). */
  open (r: VisitRequest): MuxStream | TunnelError {
    const session = this.#session
    if (session === undefined || session.closed) return new TunnelError('TUN_SESSION_CLOSED', 'not connected to the relay')
    if (!this.#capable) return new TunnelError('TUN_VISIT_UNAVAILABLE', 'the relay does not accept visitors (it lacks the visit capability): upgrade it')
    const nonce = newVisitNonce()
    const timestampMs = this.#now()
    const { relayMac, homeMac } = proveVisit(r.keys, { kind: r.kind, target: r.target, user: this.#user, nonce, timestampMs })
    try {
      return session.openStream({ proxy: r.target, visitor: r.visitor, listener: r.listener, visit: { kind: r.kind, nonce, timestampMs, relayMac, homeMac, user: '' } })
    } catch (err) {
      return err instanceof TunnelError ? err : new TunnelError('TUN_TOO_MANY_STREAMS', String(err))
    }
  }
}
