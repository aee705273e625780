// What a visitor makes of a visit that ended in a refusal: the reason (counted), and a warning
// that says plainly what to check, at most once per reason per WARN_INTERVAL_MS (a local
// application decides how often it happens). The relay does not say why it refused, on purpose
// (it must not tell a name that exists from a wrong secret), so the warning lists what it can be.
import type { Logger } from 'pino'
import type { ErrorCode, TunnelError } from '../../shared/errors.js'
import { WARN_INTERVAL_MS } from '../../shared/timing.js'
import type { VisitorRefusal } from './visitor.js'

const REASONS: Partial<Record<ErrorCode, VisitorRefusal>> = {
  TUN_VISIT_REFUSED: 'refused',
  TUN_VISIT_RATE_LIMITED: 'rateLimited',
  TUN_TOO_MANY_STREAMS: 'limit',
  TUN_LOCAL_DIAL: 'serviceDown',
  TUN_SESSION_CLOSED: 'offline',
  TUN_VISIT_UNAVAILABLE: 'offline',
}

/** The refusal an error means (a visit that ended with it), or 'reset' for anything else. */
export function refusalOf (err: TunnelError): VisitorRefusal {
  return REASONS[err.code] ?? 'reset'
}

function explain (reason: VisitorRefusal, target: string, user: string): string {
  switch (reason) {
    case 'refused': return `the relay refused the visit to ${target}: no such proxy is online for this visitor, or this visitor may not use it. Check serverName and serverUser, that secretKey is the proxy's, and that this client's user (${user === '' ? 'none' : user}) is in the proxy's allowUsers; the relay does not say which, on purpose`
    case 'rateLimited': return `the relay refuses this client's visits for a few seconds: too many were refused lately. Fix the visitor's serverName, serverUser or secretKey`
    case 'limit': return `visit to ${target} refused: a limit of open visits is reached (this client's, the proxy's maxVisitors, or its client's share of streams)`
    case 'serviceDown': return `the client of ${target} could not reach its local service`
    case 'offline': return 'not connected to a relay that accepts visitors: the local connection is refused here'
    case 'reset': return `the visit to ${target} was reset`
  }
}

export class RefusalLog {
  readonly #log: Logger
  readonly #target: string
  readonly #user: string
  readonly #last = new Map<VisitorRefusal, number>()
  readonly #suppressed = new Map<VisitorRefusal, number>()

  constructor (log: Logger, target: string, user: string) {
    this.#log = log
    this.#target = target
    this.#user = user
  }

  /** Logs `reason` (a warning; debug for a plain reset), unless one was logged within the interval. */
  note (reason: VisitorRefusal, code: ErrorCode, counts: Readonly<Record<VisitorRefusal, number>>): void {
    const now = performance.now()
    const last = this.#last.get(reason) ?? -Infinity
    if (now - last < WARN_INTERVAL_MS) {
      this.#suppressed.set(reason, (this.#suppressed.get(reason) ?? 0) + 1)
      return
    }
    this.#last.set(reason, now)
    const fields = { code, reason, target: this.#target, count: counts[reason], suppressed: this.#suppressed.get(reason) ?? 0 }
    this.#suppressed.set(reason, 0)
    if (reason === 'reset') this.#log.debug(fields, explain(reason, this.#target, this.#user))
    else this.#log.warn(fields, explain(reason, this.#target, this.#user))
  }
}
