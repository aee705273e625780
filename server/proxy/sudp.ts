// The sudp proxy type (frp's secret UDP): no public port; each visitor flow is a stream of whole
// datagrams that the relay joins like an stcp visit (secret.ts).
import { Capability, sudpSpecSchema } from '../../shared/wire/index.js'
import { defineProxyKind } from './relay-proxy.js'
import { SecretRelayProxy } from './secret.js'

export const sudpProxyKind = defineProxyKind({
  type: 'sudp',
  capability: Capability.SUDP,
  schema: sudpSpecSchema,
  holdsPort: false,
  create: (spec, ctx) => new SecretRelayProxy(spec, ctx),
})
