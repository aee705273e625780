// The stcp proxy type (frp's secret TCP): no public port; visitors that know the secret reach it
// through the relay (secret.ts).
import { Capability, stcpSpecSchema } from '../../shared/wire/index.js'
import { defineProxyKind } from './relay-proxy.js'
import { SecretRelayProxy } from './secret.js'

export const stcpProxyKind = defineProxyKind({
  type: 'stcp',
  capability: Capability.STCP,
  schema: stcpSpecSchema,
  holdsPort: false,
  create: (spec, ctx) => new SecretRelayProxy(spec, ctx),
})
