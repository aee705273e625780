// Timing constants both sides use, in one place so the relay and the client cannot drift apart
// (and diagnostics report what the sockets really have).

/** TCP keepalive idle time on the control connection, both ends: a backstop under the heartbeat. */
export const CONTROL_KEEPALIVE_MS = 30_000

/** A graceful stop lets open connections finish this long (relay, client, `--grace`). */
export const DEFAULT_GRACE_MS = 10_000

/** At most one warning of a kind in this window (refusals, shed visitors, drops, dial failures). */
export const WARN_INTERVAL_MS = 10_000
