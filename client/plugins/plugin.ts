// The one interface of a client plugin (frp's `plugin:` block): instead of dialling
// localIP:localPort, the client hands each visitor stream to the proxy's plugin, which speaks to
// the visitor itself (an HTTP or SOCKS5 proxy, a file server, TLS, a Unix socket, ...). A plugin
// is made once per proxy (and again when a reload changes its block) and closed with it.
import type { Logger } from 'pino'
import type { PluginConfig, PluginType } from '../../shared/config/index.js'
import type { ErrorCode } from '../../shared/errors.js'
import type { TokenBucket } from '../../shared/limit/index.js'
import type { MuxStream } from '../../shared/mux/index.js'

/** One visitor connection handed to a plugin: a stream the relay opened, not yet accepted. */
export interface PluginConn {
  readonly stream: MuxStream
  /** The visitor's address (normalised, as the relay saw it), for X-Forwarded-For. */
  readonly visitorAddress: string
  /** `address:port` of the visitor, for logs. */
  readonly visitor: string
  /** The plugin is done with the stream (it is closed or handed on); idempotent. */
  done: () => void
}

/** What a plugin may report; the forwarder counts it and logs it rate-limited. */
export interface PluginEvents {
  /** The visitor was turned away: wrong credentials (TUN_PLUGIN_AUTH) or a bad request (TUN_PLUGIN_REQUEST). */
  refused: (code: Extract<ErrorCode, 'TUN_PLUGIN_AUTH' | 'TUN_PLUGIN_REQUEST'>, reason: string, visitor: string) => void
  /** A connection the plugin made for the visitor failed (the local service, a SOCKS target). */
  dialFailed: (target: string, err: Error, visitor: string) => void
}

export interface PluginContext {
  /** The proxy's name, for logs. */
  readonly proxy: string
  readonly log: Logger
  /** The proxy's client-side bandwidth limit (frp's bandwidthLimitMode client), shared by its streams. */
  readonly limiter: TokenBucket | undefined
  /** frp's transport.proxyProtocolVersion: a PROXY header on the connection the plugin makes. */
  readonly proxyProtocolVersion: 'v1' | 'v2' | null
  /** Names for a self-signed certificate (the proxy's domains); empty: localhost. */
  readonly serverNames: readonly string[]
  readonly events: PluginEvents
}

export interface ClientPlugin {
  readonly type: PluginType
  /** Serves one visitor; calls conn.done() when the stream is finished. Never throws. */
  handle: (conn: PluginConn) => void
  /** Frees what the plugin holds (upstream connections, servers); its streams are reset by the forwarder. */
  close: () => void
}

export type PluginFactory<T extends PluginType> = (config: Extract<PluginConfig, { type: T }>, ctx: PluginContext) => ClientPlugin
