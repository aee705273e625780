// What the relay counts beyond its live sessions, for the admin API: logins, replaced sessions,
// refusals by error code (handshakes, logins, proxy registrations) and the last one. All bounded:
// codes come from the fixed catalogue, and logins per client id are kept for at most
// MAX_TRACKED_CLIENTS ids (the oldest forgotten first).
import type { ErrorCode } from '../shared/errors.js'

export const MAX_TRACKED_CLIENTS = 10_000

export interface LastError {
  code: ErrorCode
  message: string
  /** ISO 8601. */
  at: string
}

export class RelayStats {
  logins = 0
  replaced = 0
  readonly errors = new Map<ErrorCode, number>()
  lastError: LastError | null = null
  readonly #loginsByClient = new Map<string, number>()

  noteError (code: ErrorCode, message: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
    this.lastError = { code, message, at: new Date().toISOString() }
  }

  /** A login of `clientId`; returns how many times it has logged in since the relay started. */
  noteLogin (clientId: string): number {
    this.logins++
    const n = (this.#loginsByClient.get(clientId) ?? 0) + 1
    this.#loginsByClient.delete(clientId)
    if (this.#loginsByClient.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.#loginsByClient.keys().next()
      if (oldest.done !== true) this.#loginsByClient.delete(oldest.value)
    }
    this.#loginsByClient.set(clientId, n)
    return n
  }

  errorCounts (): Record<string, number> {
    return Object.fromEntries([...this.errors].sort(([a], [b]) => a.localeCompare(b)))
  }
}
