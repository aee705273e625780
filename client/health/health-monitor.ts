// A proxy's health check on the client (frp's healthCheck): a check of the local service every
// intervalSeconds, each bounded by timeoutSeconds; after maxFailed failures in a row a healthy
// proxy becomes unhealthy (the relay stops sending it visitors), and one success makes it healthy
// again. Until its first result a proxy is `starting`, which the relay treats as unhealthy (frp
// also serves a checked proxy only after a first good check). Unlike frp, the failure count is
// of failures in a row: a success resets it. The transitions are a pure function; the loop runs
// on the global timers (fake timers drive it in tests) and never overlaps two checks.
import type { Logger } from 'pino'

export type HealthState = 'starting' | 'healthy' | 'unhealthy'

export interface HealthCounts {
  state: HealthState
  /** Failures since the last success. */
  failures: number
}

/** What one check result does to the state (pure). */
export function nextHealth (now: HealthCounts, ok: boolean, maxFailed: number): HealthCounts {
  if (ok) return { state: 'healthy', failures: 0 }
  const failures = now.failures + 1
  if (now.state === 'starting') return { state: 'unhealthy', failures }
  if (now.state === 'healthy' && failures >= Math.max(1, maxFailed)) return { state: 'unhealthy', failures }
  return { state: now.state, failures }
}

/** One check of the local service: resolves when it passes, rejects (with the reason) when not. */
export type HealthCheckFn = (signal: AbortSignal) => Promise<void>

export interface HealthMonitorOptions {
  check: HealthCheckFn
  intervalMs: number
  timeoutMs: number
  maxFailed: number
  /** Called on every change of state (the first result included), after the state changed. */
  onChange: (state: HealthState, reason: string | undefined) => void
  log: Logger
}

export class HealthMonitor {
  readonly #o: HealthMonitorOptions
  #counts: HealthCounts = { state: 'starting', failures: 0 }
  #timer: NodeJS.Timeout | undefined
  #running: AbortController | undefined
  #stopped = true
  /** Checks done, passed or not, and the reason of the last failure. */
  checks = 0
  lastFailure: string | undefined

  constructor (options: HealthMonitorOptions) {
    this.#o = options
  }

  get state (): HealthState { return this.#counts.state }
  get failures (): number { return this.#counts.failures }
  /** Whether the relay may send it visitors. */
  get healthy (): boolean { return this.#counts.state === 'healthy' }

  /** Runs the first check now, then one every interval. Idempotent. */
  start (): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#schedule(0)
  }

  /** No check runs or starts from now on; one in flight is aborted. Idempotent. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#running?.abort()
  }

  #schedule (ms: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { void this.#runOnce() }, ms)
    this.#timer.unref()
  }

  async #runOnce (): Promise<void> {
    const { check, timeoutMs, maxFailed, intervalMs } = this.#o
    const running = new AbortController()
    this.#running = running
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        running.abort()
        reject(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
    })
    let failure: string | undefined
    try {
      await Promise.race([check(running.signal), timeout])
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err)
    } finally {
      clearTimeout(timer)
      this.#running = undefined
    }
    if (this.#stopped) return
    this.checks++
    if (failure !== undefined) this.lastFailure = failure
    const before = this.#counts.state
    this.#counts = nextHealth(this.#counts, failure === undefined, maxFailed)
    if (failure !== undefined) this.#o.log.debug({ failures: this.#counts.failures, reason: failure }, 'health check failed')
    if (this.#counts.state !== before) this.#o.onChange(this.#counts.state, failure)
    this.#schedule(intervalMs)
  }
}
