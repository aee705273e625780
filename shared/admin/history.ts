// Traffic per proxy over the last hour, for the dashboards' charts (GET /api/history): every
// HISTORY_INTERVAL_MS the process reads its proxies' byte counters and keeps, per proxy, the
// bytes of that interval in a fixed ring of HISTORY_SAMPLES. Bounded: at most
// MAX_HISTORY_PROXIES proxies are followed (the rest are counted as untracked), and a proxy
// not seen for a whole ring is forgotten. Counters that went down (a proxy registered again
// starts from 0) count from 0. The answer also carries the bytes since the last sample, so a
// chart moves between samples.
import { z } from 'zod'

export const HISTORY_INTERVAL_MS = 10_000
/** One hour of samples. */
export const HISTORY_SAMPLES = 360
export const MAX_HISTORY_PROXIES = 256

export interface ProxyCounters {
  name: string
  type: string
  /** Payload bytes since the proxy started (visitor → service). */
  bytesIn: number
  bytesOut: number
}

export const historyReportSchema = z.object({
  intervalMs: z.number(),
  /** End of each interval returned (ms since the epoch), oldest first. */
  t: z.array(z.number()),
  /** Start of the current interval: the last sample, or when sampling began. */
  lastSampleAt: z.number(),
  /** When this answer was made; `current` counts from lastSampleAt to now. */
  now: z.number(),
  proxies: z.array(z.object({
    name: z.string(),
    type: z.string(),
    /** Bytes per interval, aligned with `t`; null where the proxy did not exist. */
    bytesIn: z.array(z.number().nullable()),
    bytesOut: z.array(z.number().nullable()),
    /** Bytes since lastSampleAt. */
    current: z.object({ bytesIn: z.number(), bytesOut: z.number() }),
  })),
  /** Proxies not followed because MAX_HISTORY_PROXIES were. */
  untracked: z.number(),
})
export type HistoryReport = z.infer<typeof historyReportSchema>

interface Track {
  type: string
  bytesIn: Float64Array
  bytesOut: Float64Array
  /** Counters at the last sample (the baseline of the next delta). */
  lastIn: number
  lastOut: number
  /** Appeared after the last sample: all its bytes belong to the current interval. */
  fresh: boolean
  /** Sequence number of the last sample that saw it. */
  seenAt: number
}

export interface TrafficHistoryOptions {
  intervalMs?: number
  samples?: number
  maxProxies?: number
  /** Wall clock in ms (tests inject one). */
  now?: () => number
}

const delta = (current: number, last: number): number => (current >= last ? current - last : current)

export class TrafficHistory {
  readonly intervalMs: number
  readonly #samples: number
  readonly #maxProxies: number
  readonly #read: () => ProxyCounters[]
  readonly #now: () => number
  /** End time of each sample, by seq % samples. */
  readonly #times: Float64Array
  readonly #tracks = new Map<string, Track>()
  /** Samples taken so far. */
  #seq = 0
  #lastSampleAt: number
  #untracked = 0
  #timer: NodeJS.Timeout | undefined

  constructor (read: () => ProxyCounters[], options: TrafficHistoryOptions = {}) {
    this.intervalMs = options.intervalMs ?? HISTORY_INTERVAL_MS
    this.#samples = options.samples ?? HISTORY_SAMPLES
    this.#maxProxies = options.maxProxies ?? MAX_HISTORY_PROXIES
    this.#read = read
    this.#now = options.now ?? Date.now
    this.#times = new Float64Array(this.#samples)
    this.#lastSampleAt = this.#now()
  }

  /** Takes the baseline now and a sample every interval (the timer keeps no process alive). */
  start (): void {
    if (this.#timer !== undefined) return
    this.#lastSampleAt = this.#now()
    for (const c of this.#read()) this.#track(c, false)
    this.#timer = setInterval(() => { this.sample() }, this.intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Closes the current interval: one value per followed proxy (public for tests). */
  sample (): void {
    const at = this.#now()
    const seq = this.#seq++
    const slot = seq % this.#samples
    this.#times[slot] = at
    this.#lastSampleAt = at
    const seen = new Set<string>()
    let untracked = 0
    for (const c of this.#read()) {
      const t = this.#tracks.get(c.name) ?? this.#track(c, true)
      if (t === undefined) { untracked++; continue }
      seen.add(c.name)
      t.type = c.type
      t.bytesIn[slot] = t.fresh ? c.bytesIn : delta(c.bytesIn, t.lastIn)
      t.bytesOut[slot] = t.fresh ? c.bytesOut : delta(c.bytesOut, t.lastOut)
      t.lastIn = c.bytesIn
      t.lastOut = c.bytesOut
      t.fresh = false
      t.seenAt = seq
    }
    for (const [name, t] of this.#tracks) {
      if (seen.has(name)) continue
      t.bytesIn[slot] = Number.NaN
      t.bytesOut[slot] = Number.NaN
      // Gone for a whole ring: nothing of it is left to show.
      if (seq - t.seenAt >= this.#samples) this.#tracks.delete(name)
    }
    this.#untracked = untracked
  }

  /** Samples newer than `since` (ms since the epoch; default all), and the bytes since the last one. */
  report (since = 0): HistoryReport {
    const now = this.#now()
    const first = Math.max(0, this.#seq - this.#samples)
    const slots: number[] = []
    for (let s = first; s < this.#seq; s++) {
      const slot = s % this.#samples
      if ((this.#times[slot] ?? 0) > since) slots.push(slot)
    }
    const current = new Map(this.#read().map((c) => [c.name, c]))
    // A proxy that appeared since the last sample is followed from now on (its tip moves at once).
    for (const c of current.values()) if (!this.#tracks.has(c.name)) this.#track(c, true)
    const value = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) ? null : v)
    return {
      intervalMs: this.intervalMs,
      t: slots.map((i) => this.#times[i] ?? 0),
      lastSampleAt: this.#lastSampleAt,
      now,
      proxies: [...this.#tracks].map(([name, t]) => {
        const c = current.get(name)
        return {
          name,
          type: t.type,
          bytesIn: slots.map((i) => value(t.bytesIn[i])),
          bytesOut: slots.map((i) => value(t.bytesOut[i])),
          current: c === undefined
            ? { bytesIn: 0, bytesOut: 0 }
            : t.fresh ? { bytesIn: c.bytesIn, bytesOut: c.bytesOut } : { bytesIn: delta(c.bytesIn, t.lastIn), bytesOut: delta(c.bytesOut, t.lastOut) },
        }
      }),
      untracked: this.#untracked,
    }
  }

  /** Starts following a proxy (baseline: its counters now, or 0 when fresh), or undefined when the table is full. */
  #track (c: ProxyCounters, fresh: boolean): Track | undefined {
    if (this.#tracks.size >= this.#maxProxies) return undefined
    const t: Track = {
      type: c.type,
      bytesIn: new Float64Array(this.#samples).fill(Number.NaN),
      bytesOut: new Float64Array(this.#samples).fill(Number.NaN),
      lastIn: c.bytesIn,
      lastOut: c.bytesOut,
      fresh,
      seenAt: this.#seq - 1,
    }
    this.#tracks.set(c.name, t)
    return t
  }
}
