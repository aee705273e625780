// Rate limit for log lines a stranger can trigger (refused handshakes): at most one line per key
// (reason + source) per interval, and the next line says how many were suppressed. The key table
// is bounded; when full, events share one overflow key.
import { WARN_INTERVAL_MS } from '../shared/timing.js'

export const LOG_INTERVAL_MS = WARN_INTERVAL_MS
export const MAX_LOG_KEYS = 1024
const OVERFLOW_KEY = '\0overflow'

interface Slot {
  lastMs: number
  suppressed: number
}

export class LogLimiter {
  readonly #intervalMs: number
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #slots = new Map<string, Slot>()

  constructor (intervalMs = LOG_INTERVAL_MS, maxKeys = MAX_LOG_KEYS, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs
    this.#maxKeys = maxKeys
    this.#now = now
  }

  /** The count suppressed since the last line when this event may be logged; undefined when it must not. */
  allow (key: string): number | undefined {
    const now = this.#now()
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      this.#prune(now)
      if (this.#slots.size >= this.#maxKeys) return this.#allowOverflow(now)
      slot = { lastMs: now, suppressed: 0 }
      this.#slots.set(key, slot)
      return 0
    }
    return this.#take(slot, now)
  }

  #allowOverflow (now: number): number | undefined {
    let slot = this.#slots.get(OVERFLOW_KEY)
    if (slot === undefined) {
      slot = { lastMs: now, suppressed: 0 }
      this.#slots.set(OVERFLOW_KEY, slot)
      return 0
    }
    return this.#take(slot, now)
  }

  #take (slot: Slot, now: number): number | undefined {
    if (now - slot.lastMs < this.#intervalMs) {
      slot.suppressed++
      return undefined
    }
    const suppressed = slot.suppressed
    slot.lastMs = now
    slot.suppressed = 0
    return suppressed
  }

  #prune (now: number): void {
    for (const [key, slot] of this.#slots) {
      if (now - slot.lastMs >= this.#intervalMs && slot.suppressed === 0) this.#slots.delete(key)
    }
  }
}
