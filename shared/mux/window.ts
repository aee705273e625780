// Receive-window auto-tuning (pure): when a stream consumed half its window within a few
// minimum RTTs, the window was the bottleneck, so it doubles, up to a cap. A recent minimum RTT
// (rtt-filter.ts, not a smoothed one) keeps one queued-up sample from feeding window growth.

export const MAX_STREAM_WINDOW_BYTES = 16 * 1024 * 1024
/** Sum of window growth over all streams of a session (bounds receive memory). */
export const SESSION_WINDOW_BUDGET_BYTES = 64 * 1024 * 1024
/** Floor for the RTT used in tuning, so loopback's microsecond RTTs still let windows grow. */
export const MIN_TUNING_RTT_MS = 0.5

/**
 * The window to use next. `epochMs` is how long the last half-window took to consume.
 * Returns `current` when no growth is warranted.
 */
export function nextWindow (current: number, epochMs: number, minRttMs: number, max = MAX_STREAM_WINDOW_BYTES): number {
  if (current >= max) return current
  const rtt = Math.max(minRttMs, MIN_TUNING_RTT_MS)
  if (epochMs < 4 * rtt) return Math.min(current * 2, max)
  return current
}
