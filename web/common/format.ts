// Number and time formatting shared by the dashboards and the bench report (browser code).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** 1536 → `1.5 KiB`. */
export function formatBytes (n: number): string {
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) { v /= 1024; u++ }
  const digits = u === 0 ? (Number.isInteger(v) || Math.abs(v) >= 10 ? 0 : 1) : v < 10 ? 2 : v < 100 ? 1 : 0
  return `${v.toFixed(digits)} ${UNITS[u] ?? 'B'}`
}

/** Bytes per second as `1.5 KiB/s`. */
export const formatRate = (bytesPerSecond: number): string => `${formatBytes(bytesPerSecond)}/s`

/** Bits per second as `12.3 Mbit/s`. */
export function formatBits (bitsPerSecond: number): string {
  const steps: Array<[number, string]> = [[1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'kbit/s']]
  for (const [f, unit] of steps) if (bitsPerSecond >= f) return `${(bitsPerSecond / f).toFixed(1)} ${unit}`
  return `${Math.round(bitsPerSecond)} bit/s`
}

/** Milliseconds with sensible precision: `0.42 ms`, `12.3 ms`, `1.20 s`. */
export function formatMs (ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–'
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

/** A duration in seconds as `3d 4h`, `5m 2s`, `12s`. */
export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3_600)
  const m = Math.floor((s % 3_600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** How long ago an ISO time was, from `now` (ms since the epoch). */
export function formatSince (iso: string, now: number): string {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? '–' : `${formatDuration((now - t) / 1000)} ago`
}

export const formatCount = (n: number): string => n.toLocaleString('en-US')

/** `12:04:05`, local time. */
export function formatClock (ms: number): string {
  const d = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}
