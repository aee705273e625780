// What the proxy kinds that own a TcpProxy listener (tcp, and tcpmux's member listener) do with
// it alike: stop it in one of the three modes, and read its counters as the admin API's metrics.
import type { TcpProxy } from '../tcp-proxy.js'
import type { ProxyMetrics, StopMode } from './relay-proxy.js'

/** drain: stop accepting, streams in flight go on; reset: cut everything with RSTs; drop: destroy. */
export function stopListener (listener: TcpProxy | undefined, mode: StopMode): void {
  if (mode === 'drain') listener?.close()
  else if (mode === 'reset') listener?.reset()
  else listener?.destroy()
}

/** The listener's counters as metrics (all zero before it listens). */
export function listenerMetrics (listener: TcpProxy | undefined): ProxyMetrics {
  const t = listener?.traffic()
  if (t === undefined) return { streams: { active: 0, total: 0 }, flows: null, bytesIn: 0, bytesOut: 0, refused: 0, dropped: 0, udpDrops: null }
  return { streams: { active: t.activeStreams, total: t.streamsTotal }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: t.refused, dropped: t.dropped, udpDrops: null }
}
