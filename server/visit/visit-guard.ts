// What one visitor session may do (a token holder is a possible attacker of other tenants): at
// most MAX_VISITS_PER_SESSION visits open at once, and a budget of failed visits (a wrong name,
// proof, user, an old or replayed proof) that refills slowly. While the budget is spent every
// visit of the session is refused without being checked (RATE_LIMITED), so guessing secret keys
// or proxy names goes no faster than VISIT_FAILURE_REFILL_PER_S. The clock is injected for tests.
import { TokenBucket } from '../../shared/limit/index.js'

/** Failed visits a session may make in a burst. */
export const VISIT_FAILURE_BURST = 10
/** Failed visits a session may make per second once its burst is spent. */
export const VISIT_FAILURE_REFILL_PER_S = 1
/** Visits one visitor session may hold open at once (a quarter of a session's stream table). */
export const MAX_VISITS_PER_SESSION = 1024

export class VisitGuard {
  readonly #failures: TokenBucket
  readonly #maxActive: number
  active = 0
  /** Visits refused without a check because the budget was spent. */
  rateLimited = 0

  constructor (options: { now?: () => number, maxActive?: number } = {}) {
    this.#failures = new TokenBucket(VISIT_FAILURE_REFILL_PER_S, { burst: VISIT_FAILURE_BURST, ...(options.now === undefined ? {} : { now: options.now }) })
    this.#maxActive = options.maxActive ?? MAX_VISITS_PER_SESSION
  }

  /** The failure budget is spent: refuse without checking. */
  get limited (): boolean { return this.#failures.tokens < 1 }

  /** The session holds as many visits as it may. */
  get full (): boolean { return this.active >= this.#maxActive }

  /** One failed visit spends one unit of the budget. */
  failed (): void { this.#failures.charge(1) }
}
