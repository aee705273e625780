// The http proxy type: routes by Host (and path prefix) on the relay's vhostHTTPPort.
import { Capability, httpSpecSchema } from '../../shared/wire/index.js'
import { listedRoutes, resolveDomains } from '../vhost/index.js'
import { defineProxyKind } from './relay-proxy.js'
import { VhostRelayProxy } from './vhost-relay-proxy.js'

export const httpProxyKind = defineProxyKind({
  type: 'http',
  capability: Capability.HTTP,
  schema: httpSpecSchema,
  holdsPort: false,
  routes: listedRoutes,
  domains: (spec, config) => resolveDomains(spec, config.subDomainHost),
  create: (spec, ctx) => new VhostRelayProxy(spec, ctx),
})
