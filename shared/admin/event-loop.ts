// How long this process's event loop was blocked lately: p99 and max of the loop's delay over a
// window of the last EVENT_LOOP_WINDOW_MS to twice that (two histograms take turns), so a status
// report taken any time shows what happened in the last seconds, and readers do not reset each
// other's view. Started on first use; the sampling timer does not keep the process alive.
import type { IntervalHistogram } from 'node:perf_hooks'
import { nodePerfHooks } from '../lazy-builtins.js'

/** Each histogram covers this long before it is reset. */
export const EVENT_LOOP_WINDOW_MS = 10_000
/** The sampling resolution of node's monitor. */
const RESOLUTION_MS = 10

export interface EventLoopDelay {
  p99Ms: number
  maxMs: number
}

let pair: { current: IntervalHistogram, previous: IntervalHistogram, since: number } | undefined

function histogram (): IntervalHistogram {
  const h = nodePerfHooks().monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  h.enable()
  return h
}

/** The loop's delay over the last 10-20 s (ms), from the first call on. */
export function eventLoopDelay (now = performance.now()): EventLoopDelay {
  pair ??= { current: histogram(), previous: histogram(), since: now }
  if (now - pair.since >= EVENT_LOOP_WINDOW_MS) {
    pair.previous.reset()
    pair = { current: pair.previous, previous: pair.current, since: now }
  }
  const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0)
  const { current, previous } = pair
  return {
    p99Ms: ms(Math.max(current.count > 0 ? current.percentile(99) : 0, previous.count > 0 ? previous.percentile(99) : 0)),
    maxMs: ms(Math.max(current.count > 0 ? current.max : 0, previous.count > 0 ? previous.max : 0)),
  }
}
