// What the vhost ports know about one registered http or https proxy: its owner's session, the
// way to its service, and the per-proxy settings the relay applies to each request.
import type { Logger } from 'pino'
import type { BasicAuth } from './basic-auth.js'
import type { Session } from '../../shared/mux/index.js'
import type { SourceGate } from '../source-gate.js'
import type { StreamTally } from '../stream-tally.js'
import type { Upstream } from './upstream.js'

export interface HttpRoute {
  readonly kind: 'http'
  /** The proxy's wire name (`{user}.{name}` when the client has a user). */
  readonly name: string
  readonly session: Session
  readonly upstream: Upstream
  readonly auth: BasicAuth | undefined
  readonly hostHeaderRewrite: string | undefined
  readonly requestHeaders: Readonly<Record<string, string>>
  readonly responseHeaders: Readonly<Record<string, string>>
  readonly gate: SourceGate
  readonly log: Logger
  requests: number
  /**
   * The client writes its service a PROXY header naming the visitor on each stream
   * (transport.proxyProtocolVersion): a stream carries the requests of one visitor connection only,
   * kept by that connection between its requests instead of going back to the upstream's pool.
   */
  readonly perVisitor: boolean
}

export interface HttpsRoute {
  readonly kind: 'https'
  readonly name: string
  readonly session: Session
  readonly gate: SourceGate
  readonly log: Logger
  /** Bytes of the TLS connections passed through, for the admin API. */
  readonly tally: StreamTally
  connections: number
  /** Asks the relay's plugins about a visitor (frp's NewUserConn); false refuses it. Undefined: no plugin asked. */
  readonly admit?: ((visitor: { address: string, port: number }) => Promise<boolean>) | undefined
}
