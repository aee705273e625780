// Timing constants both sides use, in one place so the relay and the client cannot drift apart
// (and diagnostics report what the sockets really have).

/** TCP keepalive idle time on the control connection, both ends: a backstop under the heartbeat. */
export const CONTROL_KEEPALIVE_MS = 30_000
