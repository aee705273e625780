// What the admin API reports of a live mux session: a fresh control-connection RTT (one ping on
// the mux, bounded in time: the relay never pings on its own after the first, so its sessions'
// RTT would otherwise be stale), and the session's buffer and peer-queue pressure.
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

/** What a session holds back and why, for the status report: its buffer cap and its peer's queue. */
export function sessionPressure (session: Session): { bufferedBytes: number, bufferLimitBytes: number, bufferPauses: number, peerQueuedBytes: number, readPauses: number } {
  return {
    bufferedBytes: session.bufferedBytes,
    bufferLimitBytes: session.bufferLimitBytes,
    bufferPauses: session.bufferPauses,
    peerQueuedBytes: session.peerQueuedBytes,
    readPauses: session.readPauses,
  }
}
