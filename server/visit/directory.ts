// The secret proxies (stcp, sudp) online on this relay, by wire name, for the visit broker; and
// how many visits each home client's session carries, so that visitors can never take more
// than MAX_VISITS_PER_HOME_SESSION of its streams (its tcp proxies keep the rest). Names are
// unique relay-wide already (the registry claims them), so one table serves every session.
import type { Logger } from 'pino'
import { DEFAULT_MAX_STREAMS, type MuxStream } from '../../shared/mux/index.js'
import type { Endpoint, VisitBlock, VisitKind } from '../../shared/wire/index.js'
import type { VisitRefusal } from './reasons.js'

/** Visits one home client's session carries at most: half its stream table. */
export const MAX_VISITS_PER_HOME_SESSION = DEFAULT_MAX_STREAMS / 2

/** Who is visiting, as the relay knows it (never what the visitor claims). */
export interface VisitorSide {
  /** The user the visitor's session logged in with. */
  user: string
  /** The visitor client's address and port as the relay sees its control connection. */
  remote: Endpoint
  /** The relay's address of that connection. */
  local: Endpoint
  clientId: string
  log: Logger
}

/** A secret proxy as the broker sees it (server/proxy/secret.ts). */
export interface SecretEndpoint {
  readonly name: string
  readonly kind: VisitKind
  /** Checks visitors' relay proofs (derived from the secret by the home client). */
  readonly relayKey: Buffer
  allowsUser: (user: string) => boolean
  admitsSource: (address: string) => boolean
  /**
   * Opens the stream toward the home client and joins the visitor's stream to it (`done` once
   * both have closed); the reason when it cannot (the visitor's stream is then the broker's to
   * refuse, and `done` is never called).
   */
  join: (visitor: VisitorSide, stream: MuxStream, visit: VisitBlock, done: () => void) => VisitRefusal | undefined
  noteRefusal: (reason: VisitRefusal) => void
  /**
   * Asks the relay's plugins about a visit that passed every check (frp's NewUserConn, as for any
   * user connection of a proxy); false refuses it. Undefined: no plugin takes NewUserConn.
   */
  admit?: ((visitor: VisitorSide) => Promise<boolean>) | undefined
}

export class SecretDirectory {
  readonly #byName = new Map<string, SecretEndpoint>()
  readonly #homeVisits = new WeakMap<object, number>()
  readonly #maxPerHome: number

  constructor (maxPerHome = MAX_VISITS_PER_HOME_SESSION) {
    this.#maxPerHome = maxPerHome
  }

  get size (): number { return this.#byName.size }

  add (endpoint: SecretEndpoint): void { this.#byName.set(endpoint.name, endpoint) }

  /** Removes `endpoint` if it is still the one under its name. */
  remove (endpoint: SecretEndpoint): void {
    if (this.#byName.get(endpoint.name) === endpoint) this.#byName.delete(endpoint.name)
  }

  get (name: string): SecretEndpoint | undefined { return this.#byName.get(name) }

  /** Takes one visit slot of a home session; false when it carries its share already. */
  holdHomeVisit (home: object): boolean {
    const n = this.#homeVisits.get(home) ?? 0
    if (n >= this.#maxPerHome) return false
    this.#homeVisits.set(home, n + 1)
    return true
  }

  releaseHomeVisit (home: object): void {
    const n = this.#homeVisits.get(home) ?? 0
    this.#homeVisits.set(home, Math.max(0, n - 1))
  }
}
