// The https proxy type: TLS connections on the relay's vhostHTTPSPort, routed by SNI and passed through.
import { Capability, httpsSpecSchema } from '../../shared/wire/index.js'
import { listedRoutes, resolveDomains } from '../vhost/index.js'
import { defineProxyKind } from './relay-proxy.js'
import { VhostRelayProxy } from './vhost-relay-proxy.js'

export const httpsProxyKind = defineProxyKind({
  type: 'https',
  capability: Capability.HTTPS,
  schema: httpsSpecSchema,
  holdsPort: false,
  routes: listedRoutes,
  domains: (spec, config) => resolveDomains(spec, config.subDomainHost),
  create: (spec, ctx) => new VhostRelayProxy(spec, ctx),
})
