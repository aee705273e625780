// The xtcp proxy type (frp's peer-to-peer secret TCP): on the relay it is a secret proxy like
// stcp (secret.ts): a visit, checked the same way, is joined to a stream toward the home client.
// What the two clients say on that stream is their introduction (candidate addresses, keys: see
// client/p2p); the service's bytes then go directly between them over a punched UDP path, and the
// relay carries only the introduction.
import { Capability, xtcpSpecSchema } from '../../shared/wire/index.js'
import { defineProxyKind } from './relay-proxy.js'
import { SecretRelayProxy } from './secret.js'

export const xtcpProxyKind = defineProxyKind({
  type: 'xtcp',
  capability: Capability.XTCP,
  schema: xtcpSpecSchema,
  holdsPort: false,
  create: (spec, ctx) => new SecretRelayProxy(spec, ctx),
})
