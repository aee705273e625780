// The `timer:(name,remaining,count)` of `ss -o` and ss's duration spelling. ss prints
// minutes, then seconds, then milliseconds, dropping the smaller units for long times:
// `119min`, `1min29sec`, `29sec`, `9.501sec`, `476ms`, `004ms`, and '' for zero.
// iproute2 before 6.2 printed a time of 1-9 s with milliseconds as `4.568ms` (meaning 4.568 s):
// a dotted `ms` value can only be that, so it is read as seconds.

export interface SsTimer {
  /** on = retransmit (or SYN) timer, keepalive, timewait, persist (zero window probe). */
  name: string
  /** Time left before the timer fires, in ms. */
  remainingMs: number
  /** Retransmits for `on`, keepalive probes sent for `keepalive`. */
  count: number
}

const DURATION = /^(?:(\d+)min)?(?:(\d+)(?:sec|\.(\d{3})(?:sec|ms)))?(?:(\d+)ms)?$/

/** ss's duration text in ms, or undefined when it is not one. */
export function parseSsDuration (text: string): number | undefined {
  const m = DURATION.exec(text)
  if (m === null) return undefined
  const [, min, sec, frac, ms] = m
  return Number(min ?? 0) * 60_000 + Number(sec ?? 0) * 1000 + Number(frac ?? 0) + Number(ms ?? 0)
}

/** The inside of `timer:(...)`, e.g. `keepalive,29sec,0`. */
export function parseSsTimer (inside: string): SsTimer | undefined {
  const parts = inside.split(',')
  if (parts.length < 2 || parts.length > 3) return undefined
  const [name = '', remaining = '', count = '0'] = parts
  const remainingMs = parseSsDuration(remaining)
  if (!/^[a-z_]+$/.test(name) || remainingMs === undefined || !/^\d+$/.test(count)) return undefined
  return { name, remainingMs, count: Number(count) }
}
