// Exponential backoff with full jitter (pure): attempt n waits a uniform random time in
// [0, ceiling(n)), so many clients that lost the same relay do not return in step. The first
// `fastRetries` attempts keep the base ceiling (a relay restart usually takes under a second,
// as frp's fast retries assume); after them the ceiling doubles up to the cap.

export interface BackoffPolicy {
  baseMs: number
  capMs: number
  fastRetries: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 30_000, fastRetries: 3 }

export function backoffCeiling (attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const doublings = Math.min(Math.max(0, attempt - policy.fastRetries), 30)
  return Math.min(policy.capMs, policy.baseMs * 2 ** doublings)
}

export function backoffDelay (attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy))
}

/** Sleeps `ms`; resolves false at once when the signal aborts. */
export function sleep (ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) { resolve(false); return }
    const onAbort = (): void => { clearTimeout(timer); resolve(false) }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
