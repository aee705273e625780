// The run over time, for `tunnel bench --report`: every TIMELINE_INTERVAL_MS the operations that
// finished, the bytes that moved and the latencies of that interval (p50, p99, max of a
// histogram reset each interval). Bounded by the run's own duration cap: at most one point per
// interval of MAX_DURATION_S plus the tail.
import { LatencyHistogram } from './histogram.js'
import { MAX_DURATION_S } from './limits.js'

/** What the timeline reads of a run (RunState). */
export interface TimelineSource {
  readonly startedAt: number
  readonly ok: number
  readonly failed: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly endedAt: number | undefined
}

export const TIMELINE_INTERVAL_MS = 1_000
/** The longest run, its tail (timeout and grace) and a margin. */
export const MAX_TIMELINE_POINTS = MAX_DURATION_S + 120

export interface TimelinePoint {
  /** Seconds from the start of the run to the end of this interval. */
  t: number
  /** Seconds this interval lasted (the last one is shorter). */
  seconds: number
  ok: number
  failed: number
  bytesSent: number
  bytesReceived: number
  /** Latencies of the operations that succeeded in this interval (ms); null when none did. */
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

export class Timeline {
  readonly points: TimelinePoint[] = []
  /** Latencies since the last point (RunState.succeed records here too). */
  readonly interval = new LatencyHistogram()
  #last = { at: 0, ok: 0, failed: 0, bytesSent: 0, bytesReceived: 0 }
  #timer: NodeJS.Timeout | undefined
  #state: TimelineSource | undefined

  /** Samples `state` every interval until stop(). */
  start (state: TimelineSource, intervalMs = TIMELINE_INTERVAL_MS): void {
    this.#state = state
    this.#last = { at: state.startedAt, ok: 0, failed: 0, bytesSent: 0, bytesReceived: 0 }
    this.#timer = setInterval(() => { this.sample() }, intervalMs)
    this.#timer.unref()
  }

  /** Ends the last interval now and stops sampling. */
  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    const s = this.#state
    if (s !== undefined && (s.ok + s.failed > this.#last.ok + this.#last.failed || this.points.length === 0)) this.sample(s.endedAt ?? performance.now())
  }

  sample (now = performance.now()): void {
    const s = this.#state
    if (s === undefined || this.points.length >= MAX_TIMELINE_POINTS) return
    const failed = s.failed
    const summary = this.interval.count === 0 ? null : this.interval.summary()
    this.points.push({
      t: Math.round(now - s.startedAt) / 1000,
      seconds: Math.max(0, Math.round(now - this.#last.at)) / 1000,
      ok: s.ok - this.#last.ok,
      failed: failed - this.#last.failed,
      bytesSent: s.bytesSent - this.#last.bytesSent,
      bytesReceived: s.bytesReceived - this.#last.bytesReceived,
      p50Ms: summary?.p50 ?? null,
      p99Ms: summary?.p99 ?? null,
      maxMs: summary?.max ?? null,
    })
    this.interval.reset()
    this.#last = { at: now, ok: s.ok, failed, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived }
  }
}
