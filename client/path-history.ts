// The control connection's path over time, as the relay's kernel sees it (MSS, path MTU, RTT,
// retransmits, cwnd), for the client's dashboard (GET /api/path). Each sample asks the relay
// over the connection (a diagRequest, which runs `ss` on the relay), so samples are taken only
// while somebody watches: from a request on, every PATH_SAMPLE_INTERVAL_MS until
// PATH_WATCH_MS after the last request. At most PATH_SAMPLES are kept (an hour of watching).
import type { PathFigures, PathReport, PathSample } from '../shared/admin/index.js'
import type { PeerView } from '../shared/diag/index.js'
import type { TunnelError } from '../shared/errors.js'

export const PATH_SAMPLE_INTERVAL_MS = 10_000
export const PATH_SAMPLES = 360
/** Sampling stops this long after the last request. */
export const PATH_WATCH_MS = 60_000
/**
 * The relay reports on one connection at a time (it runs ss for a second); a sample that finds
 * it busy (another client's diagnostics, or this client's own /api/diag) asks once more after this.
 */
export const PATH_BUSY_RETRY_MS = 1_500

export type PathSampler = () => Promise<Omit<PathSample, 't'>>

export interface PathHistoryOptions {
  intervalMs?: number
  samples?: number
  watchMs?: number
  now?: () => number
}

/** The figures of the relay's view (its first control connection), or why there are none. */
export function pathFigures (view: PeerView | TunnelError): { relay: PathFigures | null, error: string | null } {
  if (!('control' in view)) return { relay: null, error: `${view.message} (${view.code})` }
  const c = view.control[0]
  if (c === undefined) return { relay: null, error: view.unavailable[0]?.reason ?? 'the relay does not see this connection' }
  return { relay: { mss: c.mss, pathMtu: c.pathMtu, rttMs: c.rttMs, rttVarMs: c.rttVarMs, retransTotal: c.retransTotal, bytesRetrans: c.bytesRetrans, cwnd: c.cwnd }, error: null }
}

export class PathHistory {
  readonly #sample: PathSampler
  readonly #intervalMs: number
  readonly #max: number
  readonly #watchMs: number
  readonly #now: () => number
  readonly #samples: PathSample[] = []
  #watchedAt = Number.NEGATIVE_INFINITY
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #stopped = false

  constructor (sample: PathSampler, options: PathHistoryOptions = {}) {
    this.#sample = sample
    this.#intervalMs = options.intervalMs ?? PATH_SAMPLE_INTERVAL_MS
    this.#max = options.samples ?? PATH_SAMPLES
    this.#watchMs = options.watchMs ?? PATH_WATCH_MS
    this.#now = options.now ?? Date.now
  }

  /** The samples so far; a request also (re)starts sampling, and waits for a first sample. */
  async report (): Promise<PathReport> {
    this.#watchedAt = this.#now()
    const last = this.#samples.at(-1)
    if (!this.#stopped && this.#timer === undefined && (last === undefined || this.#watchedAt - last.t >= this.#intervalMs)) await this.#take()
    this.#schedule()
    return { intervalMs: this.#intervalMs, watchMs: this.#watchMs, samples: [...this.#samples] }
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    if (this.#stopped || this.#timer !== undefined) return
    if (this.#now() - this.#watchedAt >= this.#watchMs) return
    this.#timer = setTimeout(() => {
      void this.#take().finally(() => {
        this.#timer = undefined
        this.#schedule()
      })
    }, this.#intervalMs)
    this.#timer.unref()
  }

  /** One sample at a time; a second caller waits for the one in flight. Never rejects. */
  #take (): Promise<void> {
    this.#inFlight ??= this.#sample()
      .then((s) => { this.#push({ t: this.#now(), ...s }) }, (err: unknown) => {
        this.#push({ t: this.#now(), relay: null, pingMs: null, error: err instanceof Error ? err.message : String(err) })
      })
      .finally(() => { this.#inFlight = undefined })
    return this.#inFlight
  }

  #push (s: PathSample): void {
    this.#samples.push(s)
    if (this.#samples.length > this.#max) this.#samples.splice(0, this.#samples.length - this.#max)
  }
}
