// The relay's per-proxy source filter in front of a public listener: counts refused visitors and
// logs them at most once per source per 10 s (a stranger decides how often this happens), with the
// number suppressed since the last line.
import type { Logger } from 'pino'
import { normalizeAddress, SourceFilter } from '../shared/net/index.js'
import type { SourceSpec } from '../shared/wire/index.js'
import { LOG_INTERVAL_MS, LogLimiter, MAX_LOG_KEYS } from './log-limiter.js'

export class SourceGate {
  readonly #filter: SourceFilter
  readonly #log: Logger
  readonly #limiter: LogLimiter
  /** Visitors (TCP connections, UDP datagrams of no flow yet) refused by the filter. */
  refused = 0

  /** `now`: monotonic milliseconds for the log rate limit (tests inject one); default performance.now. */
  constructor (spec: SourceSpec, log: Logger, now?: () => number) {
    this.#filter = new SourceFilter(spec.allowSources ?? [], spec.denySources ?? [])
    this.#log = log
    this.#limiter = new LogLimiter(LOG_INTERVAL_MS, MAX_LOG_KEYS, now)
  }

  /** True when the proxy has allowSources or denySources (some visitors are refused). */
  get filters (): boolean { return !this.#filter.open }

  /** Whether `address` (raw or normalised) may use the proxy; a refusal is counted and maybe logged. */
  admits (address: string): boolean {
    if (this.#filter.admits(address)) return true
    this.refused++
    const source = normalizeAddress(address)
    const suppressed = this.#limiter.allow(source)
    if (suppressed !== undefined) this.#log.warn({ remote: source, refused: this.refused, suppressed }, 'visitor refused by the proxy\'s source filter')
    return false
  }
}
