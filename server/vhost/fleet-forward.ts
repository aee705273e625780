// A request on vhostHTTPPort for a host no proxy of this relay serves, on a fleet relay: when
// another relay of the fleet serves the domain's owner, the request goes there over the
// inter-relay link (one link stream per request, carrying the original visitor's address), and
// that relay's vhost answers it as it would a visitor of its own: its routing, basic auth, source
// filters, header rewrites and X-Forwarded-For all apply there, to the original visitor. The
// request is passed on as the visitor sent it (end-to-end headers only, Host untouched) and the
// answer comes back as that relay gave it. A request that arrived over a link is never forwarded
// again (no loops). The http vhost's visitor connections do the passing (visitor-connection.ts);
// the https vhost passes the whole TLS connection (https-vhost.ts).
import type { Duplex } from 'node:stream'
import type { MuxDuplex } from '../../shared/mux/index.js'
import type { Endpoint } from '../../shared/wire/index.js'

/** What the vhost asks of the fleet (server/fleet implements it; relay.ts wires it in). */
export interface VhostForwarder {
  /** A stream to a relay that serves `host`'s owner, carrying the visitor; undefined when none does. Throws when the way fails. */
  open: (kind: 'http' | 'https', host: string, visitor: Endpoint, listener: Endpoint) => Promise<MuxDuplex | undefined>
  /** A forward for `host` failed: its route is looked up again next time. */
  failed: (kind: 'http' | 'https', host: string) => void
  /** The connection came over an inter-relay link. */
  forwarded: (socket: Duplex) => boolean
}

/** The answer of the relay forwarded to must start within its own vhostHTTPTimeout plus this. */
export const FORWARD_SLACK_MS = 5_000
