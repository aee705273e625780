// Rate-limited warning for shed visitors (a stranger decides how often it happens): the first
// shed is reported at once, later ones at most once per interval, each line with the total so far
// and how many were shed since the last line.
import { WARN_INTERVAL_MS } from '../shared/timing.js'
import type { Logger } from 'pino'

export const SHED_WARN_INTERVAL_MS = WARN_INTERVAL_MS

export class ShedWarner {
  readonly #log: Logger
  readonly #intervalMs: number
  readonly #now: () => number
  #last = -Infinity
  #sinceLine = 0

  constructor (log: Logger, intervalMs = SHED_WARN_INTERVAL_MS, now: () => number = () => performance.now()) {
    this.#log = log
    this.#intervalMs = intervalMs
    this.#now = now
  }

  /** One more shed; `fields` carry the totals. Returns whether a line was written. */
  note (fields: Record<string, unknown>, msg: string): boolean {
    this.#sinceLine++
    const now = this.#now()
    if (now - this.#last < this.#intervalMs) return false
    this.#last = now
    this.#log.warn({ code: 'TUN_VISITOR_SHED', ...fields, sinceLastLine: this.#sinceLine }, msg)
    this.#sinceLine = 0
    return true
  }
}
