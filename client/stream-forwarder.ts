// What the proxy manager needs of whatever serves a tcp, http or https proxy's streams on the
// client: the TcpForwarder (dials localIP:localPort) or a PluginForwarder (hands each stream to a
// client plugin). One interface, so status, reload and close treat both alike.
import type { MuxStream } from '../shared/mux/index.js'

/** A proxy's counters on the client. Directions are the visitor's: in = visitor → service. */
export interface StreamTraffic {
  bytesIn: number
  bytesOut: number
  active: number
  /** Streams served (connected to the local service, or handed to the plugin). */
  total: number
  /** Connections to the local service (or a plugin's targets) that failed. */
  dialFailures: number
  /** Visitors a plugin refused (wrong credentials, a malformed or slow request); absent without a plugin. */
  refused?: number
}

export interface StreamForwarder {
  /** Serves one stream the relay opened for a visitor. */
  handle: (stream: MuxStream) => void
  /** Resets every stream it holds and refuses new ones; idempotent. */
  close: () => void
  traffic: () => StreamTraffic
  readonly closed: boolean
}
