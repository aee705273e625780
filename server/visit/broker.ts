// Matches each visit (a stream a visitor client opens, with a visit block in its open header) to
// the named secret proxy and checks it, then lets the proxy join it to a stream toward its home
// client. The visitor gets one answer for every refusal that could teach it something (no such
// proxy, another type, a wrong proof, a user not allowed, a source not admitted, an old or
// replayed proof): a FORBIDDEN reset, after the same work (the HMAC is computed against a
// throwaway key when the name is unknown), so nothing tells a name that exists from a wrong
// secret. Failed visits spend the session's budget (visit-guard.ts); past it, visits are refused
// unchecked (RATE_LIMITED). The relay's own counters and logs keep the real reason.
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { joinStreams, type MuxStream } from '../../shared/mux/index.js'
import { type Endpoint, ResetCode, VISIT_MAC_BYTES, type VisitBlock, visitKindName } from '../../shared/wire/index.js'
import { checkVisitMac, ReplayWindow, type VisitClaim } from '../../shared/visit/index.js'
import { LogLimiter } from '../log-limiter.js'
import type { SecretDirectory, SecretEndpoint, VisitorSide } from './directory.js'
import { FAILED_GUESSES, newVisitRefusalCounts, type VisitRefusal, type VisitRefusalCounts } from './reasons.js'
import { VisitGuard } from './visit-guard.js'

export interface VisitBrokerOptions {
  directory: SecretDirectory
  /** How far a proof's timestamp may be from the relay's clock (transport.maxClockSkew). */
  windowMs: number
  log: Logger
  /** Wall clock for proof timestamps (tests inject one); default Date.now. */
  now?: () => number
  /** Monotonic clock for the failure budget and log limits (tests inject one); default performance.now. */
  monotonic?: () => number
  /** Visits one visitor session may hold open (default MAX_VISITS_PER_SESSION; tests shrink it). */
  maxPerSession?: number
}

/** A fleet relay's way to its peers for visits to secret proxies served elsewhere (server/fleet implements it). */
export interface VisitForwarder {
  /** A stream to a relay that serves proxy `name`'s client, carrying the visit; undefined when none does. Throws when the way fails. */
  openVisit: (name: string, visitor: Endpoint, listener: Endpoint, visit: VisitBlock) => Promise<MuxStream | undefined>
  /** A visit to `name` failed on its way: its route is looked up again next time. */
  failedVisit: (name: string) => void
}

export class VisitBroker {
  readonly directory: SecretDirectory
  readonly #replay: ReplayWindow
  readonly #guards = new WeakMap<object, VisitGuard>()
  readonly #log: Logger
  readonly #logLimiter: LogLimiter
  readonly #monotonic: (() => number) | undefined
  readonly #maxPerSession: number | undefined
  /** Checked against when no proxy has the name, so an unknown name costs the same HMAC. */
  readonly #decoyKey = randomBytes(VISIT_MAC_BYTES)
  /** Refused visits by reason, relay-wide (the visitor never learns which). */
  readonly refusals: VisitRefusalCounts = newVisitRefusalCounts()
  /** Visits joined to their home client. */
  accepted = 0
  /** Visits passed on to another relay of the fleet (that relay checks and joins them). */
  forwarded = 0
  /** A fleet relay: visits to a name no proxy here has go to the relay that serves it. */
  forwarder: VisitForwarder | undefined

  constructor (options: VisitBrokerOptions) {
    this.directory = options.directory
    this.#replay = new ReplayWindow({ windowMs: options.windowMs, ...(options.now === undefined ? {} : { now: options.now }) })
    this.#log = options.log
    this.#monotonic = options.monotonic
    this.#maxPerSession = options.maxPerSession
    this.#logLimiter = new LogLimiter(undefined, undefined, options.monotonic)
  }

  /** The guard of one visitor session (`session`: its mux session, the key of the table). */
  guardOf (session: object): VisitGuard {
    let g = this.#guards.get(session)
    if (g === undefined) {
      g = new VisitGuard({
        ...(this.#monotonic === undefined ? {} : { now: this.#monotonic }),
        ...(this.#maxPerSession === undefined ? {} : { maxActive: this.#maxPerSession }),
      })
      this.#guards.set(session, g)
    }
    return g
  }

  /** A visit stream from `visitor`'s session; it is joined, or reset with the answer for its refusal. */
  handle (session: object, visitor: VisitorSide, stream: MuxStream): void {
    const open = stream.open
    const visit = open?.visit
    if (open === undefined || visit === undefined) { stream.reset(ResetCode.REFUSED); return }
    const guard = this.guardOf(session)
    if (guard.limited) {
      guard.rateLimited++
      this.#refuse(stream, visitor, open.proxy, 'rateLimited', ResetCode.RATE_LIMITED)
      return
    }
    if (guard.full) {
      this.#refuse(stream, visitor, open.proxy, 'visitorLimit', ResetCode.TOO_MANY_STREAMS)
      return
    }
    const endpoint = this.directory.get(open.proxy)
    if (endpoint === undefined && this.forwarder !== undefined) {
      this.#forward(this.forwarder, guard, visitor, stream, open.proxy, visit)
      return
    }
    this.#check(guard, visitor, stream, open.proxy, visit)
  }

  /**
   * A visit another relay of the fleet passed on: the visitor's session is there (its failure
   * budget and visit cap were applied there), `visitor.user` is the user it logged in with; it is
   * checked and joined here as any visit, and never passed on again.
   */
  handleForwarded (visitor: VisitorSide, stream: MuxStream, name: string, visit: VisitBlock): void {
    this.#check(undefined, visitor, stream, name, visit)
  }

  /**
   * No secret proxy of that name here: the visit goes to a relay of the fleet that serves its
   * client, carrying the visitor's user; that relay's answer (joined, or a reset that says why)
   * reaches the visitor as it is. A name no relay serves is refused like an unknown one here.
   */
  #forward (forwarder: VisitForwarder, guard: VisitGuard, visitor: VisitorSide, stream: MuxStream, name: string, visit: VisitBlock): void {
    guard.active++
    forwarder.openVisit(name, visitor.remote, visitor.local, { ...visit, user: visitor.user }).then((peer) => {
      if (peer === undefined) {
        guard.active--
        guard.failed()
        this.#refuse(stream, visitor, name, 'unknown', ResetCode.FORBIDDEN)
        return
      }
      if (stream.closed) { guard.active--; peer.reset(ResetCode.CANCEL); return }
      this.forwarded++
      stream.accept()
      joinStreams(stream, peer, (r) => {
        guard.active--
        // The other relay refused it: it counts against this visitor's budget here, as a local refusal would.
        if (r.error?.code === 'TUN_VISIT_REFUSED') guard.failed()
        visitor.log.debug({ proxy: name, bytesIn: r.bytesAtoB, bytesOut: r.bytesBtoA, code: r.error?.code }, 'forwarded visit closed')
      })
    }, () => {
      guard.active--
      forwarder.failedVisit(name)
      this.#refuse(stream, visitor, name, 'homeUnavailable', ResetCode.CANCEL)
    })
  }

  #check (guard: VisitGuard | undefined, visitor: VisitorSide, stream: MuxStream, name: string, visit: VisitBlock): void {
    const open = { proxy: name }
    const endpoint = this.directory.get(open.proxy)
    const claim: VisitClaim = { kind: visit.kind, target: open.proxy, user: visitor.user, nonce: visit.nonce, timestampMs: visit.timestampMs }
    // The same work whether or not the name exists.
    const proofOk = checkVisitMac(endpoint?.relayKey ?? this.#decoyKey, claim, visit.relayMac)
    const freshness = this.#replay.check(visit.nonce, visit.timestampMs)
    let reason: VisitRefusal | undefined
    if (endpoint === undefined) reason = 'unknown'
    else if (endpoint.kind !== visit.kind) reason = 'kind'
    else if (!proofOk) reason = 'proof'
    else if (!endpoint.allowsUser(visitor.user)) reason = 'user'
    else if (!endpoint.admitsSource(visitor.remote.address)) reason = 'source'
    else if (freshness !== 'fresh') reason = freshness
    if (reason !== undefined) {
      guard?.failed()
      if (endpoint !== undefined && reason !== 'kind') endpoint.noteRefusal(reason)
      this.#refuse(stream, visitor, open.proxy, reason, ResetCode.FORBIDDEN)
      return
    }
    if (endpoint === undefined) return // narrowed above; kept for the type checker
    this.#replay.remember(visit.nonce, visit.timestampMs)
    const admit = endpoint.admit
    if (admit === undefined) {
      this.#join(guard, visitor, stream, endpoint, visit)
      return
    }
    // The relay's plugins are asked last, about a visit every check passed (the slot is held meanwhile).
    if (guard !== undefined) guard.active++
    const decided = (ok: boolean): void => {
      if (guard !== undefined) guard.active--
      if (stream.closed) return // the visitor gave up while the plugin was asked
      if (ok) {
        this.#join(guard, visitor, stream, endpoint, visit)
        return
      }
      endpoint.noteRefusal('plugin')
      this.#refuse(stream, visitor, open.proxy, 'plugin', ResetCode.FORBIDDEN)
    }
    admit(visitor).then(decided, () => { decided(false) })
  }

  /** Joins a visit that passed every check to its home client, or refuses it at a limit. */
  #join (guard: VisitGuard | undefined, visitor: VisitorSide, stream: MuxStream, endpoint: SecretEndpoint, visit: VisitBlock): void {
    if (guard !== undefined) guard.active++
    const failed = endpoint.join(visitor, stream, visit, () => { if (guard !== undefined) guard.active-- })
    if (failed !== undefined) {
      if (guard !== undefined) guard.active--
      endpoint.noteRefusal(failed)
      this.#refuse(stream, visitor, endpoint.name, failed, failed === 'homeUnavailable' ? ResetCode.CANCEL : ResetCode.TOO_MANY_STREAMS)
      return
    }
    this.accepted++
    visitor.log.debug({ streamId: stream.id, proxy: endpoint.name, kind: visitKindName(visit.kind) }, 'visit joined')
  }

  #refuse (stream: MuxStream, visitor: VisitorSide, target: string, reason: VisitRefusal, code: number): void {
    this.refusals[reason]++
    stream.reset(code)
    const suppressed = this.#logLimiter.allow(`${reason}\0${visitor.clientId}`)
    if (suppressed === undefined) return
    const fields = { reason, target, user: visitor.user, remote: visitor.remote.address, suppressed }
    if (reason === 'plugin') this.#log.info({ code: 'TUN_PLUGIN_REJECTED', ...fields }, 'visit refused by a relay plugin (NewUserConn)')
    else if (FAILED_GUESSES.has(reason) || reason === 'rateLimited') this.#log.warn({ code: reason === 'rateLimited' ? 'TUN_VISIT_RATE_LIMITED' : 'TUN_VISIT_REFUSED', ...fields }, 'visit refused')
    else this.#log.info({ code: 'TUN_TOO_MANY_STREAMS', ...fields }, 'visit refused: at a limit')
  }
}
