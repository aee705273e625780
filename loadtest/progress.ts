// The live view of a run: on a TTY a progress bar with rate, errors and p99 so far
// (cli-progress, redrawn 4 times a second, cleared at the end); elsewhere one JSON log line per
// second (`bench progress`), or nothing.
import cliProgress from 'cli-progress'
import type { Logger } from '../shared/log.js'
import { PROGRESS_INTERVAL_MS } from './limits.js'
import type { RunState } from './run-state.js'

export type ProgressMode = 'bar' | 'json' | 'none'

const BAR_REDRAW_MS = 250

export interface ProgressSnapshot {
  elapsedS: number
  /** Share of the run done (of the duration or of the count bound, whichever is further). */
  fraction: number
  ok: number
  errors: number
  /** Successful operations per second over the last interval. */
  ratePerSecond: number
  p99Ms: number
}

export interface Progress {
  stop: () => void
}

/** Takes snapshots and keeps the last one, for the rate over the last interval. */
export class Snapshotter {
  readonly #state: RunState
  #lastOk = 0
  #lastAt: number

  constructor (state: RunState) {
    this.#state = state
    this.#lastAt = state.startedAt
  }

  take (): ProgressSnapshot {
    const s = this.#state
    const now = performance.now()
    const dt = (now - this.#lastAt) / 1000
    const rate = dt > 0 ? (s.ok - this.#lastOk) / dt : 0
    this.#lastOk = s.ok
    this.#lastAt = now
    const elapsedMs = now - s.startedAt
    return {
      elapsedS: Math.round(elapsedMs / 100) / 10,
      fraction: Math.min(1, Math.max(elapsedMs / s.bounds.durationMs, s.issued / s.bounds.maxOps)),
      ok: s.ok,
      errors: s.failed,
      ratePerSecond: Math.round(rate * 10) / 10,
      p99Ms: s.latency.percentileMs(99),
    }
  }
}

function barProgress (state: RunState, stream: NodeJS.WriteStream): Progress {
  const snap = new Snapshotter(state)
  const bar = new cliProgress.SingleBar({
    format: '{bar} {percentage}% {elapsed}s | {rate}/s | ok {ok} | errors {errors} | p99 {p99} ms',
    stream,
    hideCursor: true,
    clearOnComplete: true,
    barsize: 20,
    fps: 1000 / BAR_REDRAW_MS,
  }, cliProgress.Presets.shades_classic)
  const payload = (s: ProgressSnapshot): Record<string, string | number> =>
    ({ elapsed: s.elapsedS.toFixed(1), rate: s.ratePerSecond.toFixed(0), ok: s.ok, errors: s.errors, p99: s.p99Ms.toFixed(2) })
  bar.start(100, 0, payload(snap.take()))
  // Rate over one second, redrawn more often: keep the snapshot's rate window at a second.
  let last = snap.take()
  let lastTake = performance.now()
  const timer = setInterval(() => {
    if (performance.now() - lastTake >= PROGRESS_INTERVAL_MS) {
      last = snap.take()
      lastTake = performance.now()
    }
    const s = state
    const fraction = Math.min(1, Math.max((performance.now() - s.startedAt) / s.bounds.durationMs, s.issued / s.bounds.maxOps))
    bar.update(Math.floor(fraction * 100), payload({ ...last, ok: s.ok, errors: s.failed, p99Ms: s.latency.percentileMs(99), elapsedS: (performance.now() - s.startedAt) / 1000 }))
  }, BAR_REDRAW_MS)
  timer.unref()
  return {
    stop: () => {
      clearInterval(timer)
      bar.stop()
    },
  }
}

function jsonProgress (state: RunState, log: Logger): Progress {
  const snap = new Snapshotter(state)
  const timer = setInterval(() => { log.info(snap.take(), 'bench progress') }, PROGRESS_INTERVAL_MS)
  timer.unref()
  return { stop: () => { clearInterval(timer) } }
}

export function startProgress (mode: ProgressMode, state: RunState, log: Logger, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === 'bar') return barProgress(state, stream)
  if (mode === 'json') return jsonProgress(state, log)
  return { stop: () => {} }
}
