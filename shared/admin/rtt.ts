// A fresh control-connection RTT for the admin API: one ping on the mux, bounded in time. The
// relay never pings on its own after the first, so its sessions' RTT would otherwise be stale.
import type { Session } from '../mux/index.js'

export const RTT_PROBE_TIMEOUT_MS = 1_000

/** The RTT in ms: a new ping's, else the last measured, else null. Never rejects. */
export async function probeRtt (session: Session, timeoutMs = RTT_PROBE_TIMEOUT_MS): Promise<number | null> {
  const last = (): number | null => (Number.isFinite(session.lastRttMs) ? session.lastRttMs : null)
  if (session.closed) return last()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<number>((resolve) => { timer = setTimeout(() => { resolve(NaN) }, timeoutMs) })
  try {
    const rtt = await Promise.race([session.ping().catch(() => NaN), timeout])
    return Number.isFinite(rtt) ? rtt : last()
  } finally {
    clearTimeout(timer)
  }
}

/** Rounded to microseconds: enough for loopback, no false precision. */
export const roundMs = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000)
