// The state of one run: its bounds (time and count), what has been recorded, and the signal
// every worker watches. Workers ask claim() before each operation; once the duration or the
// count is reached, or the run is aborted, claim() says no and every wait is cut short.
import { setMaxListeners } from 'node:events'
import { LatencyHistogram } from './histogram.js'
import { emptyErrorCounts, type ErrorCounts, type ErrorKind, type OpFailure } from './error-kinds.js'
import { SLOW_CONNECT_MS } from './limits.js'
import { Timeline } from './timeline.js'

export type StopReason = 'duration' | 'count' | 'aborted'

export interface RunBounds {
  durationMs: number
  maxOps: number
  /** Operations per second for open-loop runs; null = closed loop. */
  rate: number | null
  /**
   * At the end of the duration: 'abandon' cuts operations in flight short (they are neither
   * successes nor errors: requests and connections); 'finish' lets them complete and counts them
   * (bulk streams report their byte count, UDP waits for late replies).
   */
  tail: 'abandon' | 'finish'
}

export interface Claim {
  /** Sequence number of the operation, from 0. */
  index: number
  /** performance.now() at which it is due (open loop), or now (closed loop). */
  dueAt: number
}

/** First errno per kind, for the report. */
export type ErrorExamples = Partial<Record<ErrorKind, string>>

export class RunState {
  readonly bounds: RunBounds
  readonly startedAt = performance.now()
  readonly latency = new LatencyHistogram()
  readonly connect = new LatencyHistogram()
  /** How late open-loop operations started behind their schedule because the generator was idle-waiting on a timer. */
  readonly sendLag = new LatencyHistogram()
  /** The run over time (for the HTML report); sampled once started (runner.ts). */
  readonly timeline = new Timeline()
  readonly errors: ErrorCounts = emptyErrorCounts()
  readonly examples: ErrorExamples = {}
  issued = 0
  ok = 0
  bytesSent = 0
  bytesReceived = 0
  slowConnects = 0
  connectTimeouts = 0
  /** performance.now() when the measuring window closed (duration reached, count done, or aborted). */
  endedAt: number | undefined
  stopReason: StopReason | undefined
  /** performance.now() when the load itself stopped, if earlier than the window (UDP: end of sending). */
  activeUntil: number | undefined
  readonly #abort = new AbortController()
  readonly #timer: NodeJS.Timeout

  constructor (bounds: RunBounds) {
    this.bounds = bounds
    // Every operation in flight listens for the end of the run: thousands at high concurrency.
    setMaxListeners(0, this.#abort.signal)
    this.#timer = setTimeout(() => { this.stop('duration') }, bounds.durationMs)
  }

  get signal (): AbortSignal { return this.#abort.signal }
  get stopped (): boolean { return this.stopReason !== undefined }
  get deadline (): number { return this.startedAt + this.bounds.durationMs }

  /** When the next operation is due (performance.now() scale): now for closed-loop runs. */
  nextDueAt (): number {
    return this.bounds.rate === null ? performance.now() : this.startedAt + (this.issued * 1000) / this.bounds.rate
  }

  /** The next operation, or undefined once the run is over (time, count, abort). */
  claim (): Claim | undefined {
    if (this.stopped) return undefined
    if (this.issued >= this.bounds.maxOps) {
      this.stop('count')
      return undefined
    }
    const dueAt = this.nextDueAt()
    if (performance.now() >= this.deadline || dueAt >= this.deadline) {
      this.stop('duration')
      return undefined
    }
    return { index: this.issued++, dueAt }
  }

  /**
   * Ends the measuring window. 'aborted', and 'duration' with tail 'abandon', cut every wait
   * short at once; otherwise operations in flight finish and count, and finish() closes the
   * window when they have. Idempotent: the first reason stays.
   */
  stop (reason: StopReason): void {
    if (this.stopReason !== undefined) {
      if (reason === 'aborted') this.#cut()
      return
    }
    this.stopReason = reason
    clearTimeout(this.#timer)
    if (reason === 'aborted' || (reason === 'duration' && this.bounds.tail === 'abandon')) this.#cut()
  }

  /** Called once every worker has returned: closes the measuring window if it is still open. */
  finish (): void {
    this.stopReason ??= 'count'
    clearTimeout(this.#timer)
    this.endedAt ??= performance.now()
  }

  #cut (): void {
    this.endedAt ??= performance.now()
    this.#abort.abort()
  }

  get failed (): number {
    let n = 0
    for (const v of Object.values(this.errors)) n += v
    return n
  }

  /** Whether a result that arrives now still counts. */
  get open (): boolean { return this.endedAt === undefined }

  /** Claimed operations that neither succeeded nor failed inside the window (cut short at the end). */
  get abandoned (): number { return Math.max(0, this.issued - this.ok - this.failed) }

  succeed (latencyUs: number | undefined): void {
    if (!this.open) return
    this.ok++
    if (latencyUs !== undefined) {
      this.latency.record(latencyUs)
      this.timeline.interval.record(latencyUs)
    }
  }

  fail (failure: OpFailure): void {
    if (!this.open) return
    this.errors[failure.kind]++
    this.examples[failure.kind] ??= failure.detail
  }

  recordConnect (us: number): void {
    if (!this.open) return
    this.connect.record(us)
    if (us >= SLOW_CONNECT_MS * 1000) this.slowConnects++
  }

  /** Adds `n` failures of one kind at once (UDP: datagrams that never came back). */
  failMany (kind: ErrorKind, n: number, detail: string): void {
    if (!this.open || n <= 0) return
    this.errors[kind] += n
    this.examples[kind] ??= detail
  }

  /** Time the load ran: start to the end of the window (or of sending, when that came first). */
  elapsedMs (): number { return (this.activeUntil ?? this.endedAt ?? performance.now()) - this.startedAt }
}

/** Resolves after `ms` or as soon as `signal` aborts (never rejects). */
export function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * Waits until a claimed operation is due and returns when its latency clock starts. An
 * operation already late because the worker was busy (the target is slower than the rate)
 * starts its clock at the scheduled time: coordinated omission corrected. An operation whose
 * worker idled on a timer starts when the timer fired; how late the timer was is recorded
 * separately as the generator's own lag.
 */
export async function waitUntilDue (state: RunState, claim: Claim): Promise<number> {
  const now = performance.now()
  if (claim.dueAt <= now) return claim.dueAt
  await sleep(claim.dueAt - now, state.signal)
  const woke = performance.now()
  state.sendLag.record(Math.max(0, woke - claim.dueAt) * 1000)
  return woke
}
