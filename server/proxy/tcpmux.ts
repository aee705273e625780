// The tcpmux proxy type (frp's tcpmux with multiplexer httpconnect): no port of its own; it
// serves its domains on the relay's tcpmuxHTTPConnectPort (server/tcpmux), alone or as a member
// of a load-balancing group, and every visitor routed to it becomes a stream to its client, as
// for a tcp proxy (a TcpProxy member does the bridging, counting and source filtering).
import type { Socket } from 'node:net'
import { TunnelError } from '../../shared/errors.js'
import { formatBandwidth } from '../../shared/limit/index.js'
import { Capability, tcpmuxSpecSchema, type TcpmuxProxySpec } from '../../shared/wire/index.js'
import { TcpProxy } from '../tcp-proxy.js'
import type { TcpmuxTicket } from '../tcpmux/index.js'
import { resolveDomains } from '../vhost/index.js'
import { defineProxyKind, type ProxyContext, type ProxyEndpoint, type ProxyMembership, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type StopMode } from './relay-proxy.js'
import { listenerMetrics, stopListener } from './tcp-listener.js'

class TcpmuxRelayProxy implements RelayProxy {
  readonly type = 'tcpmux'
  readonly name: string
  readonly #spec: TcpmuxProxySpec
  readonly #ctx: ProxyContext
  #listener: TcpProxy | undefined
  #ticket: TcpmuxTicket | undefined
  readonly #member: { name: string, healthy: boolean, accept: (socket: Socket) => void }
  #phase: RelayProxyPhase = 'starting'

  constructor (spec: TcpmuxProxySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.#spec = spec
    this.#ctx = ctx
    this.#member = { name: spec.name, healthy: spec.healthy !== false, accept: (socket) => { this.#accept(socket) } }
  }

  async start (): Promise<void> {
    const { tcpmux, session, log, budget, admitVisitor, config } = this.#ctx
    if (tcpmux === undefined) throw new TunnelError('TUN_TCPMUX_UNAVAILABLE', 'this relay serves no tcpmux proxies: its frps.yml does not set tcpmuxHTTPConnectPort')
    const spec = this.#spec
    const domains = resolveDomains(spec, config.subDomainHost)
    this.#listener = TcpProxy.member(spec.name, tcpmux.port, session, log, {
      sources: spec,
      bandwidthLimit: spec.bandwidthLimit,
      ...(budget === undefined ? {} : { budget }),
      ...(admitVisitor === undefined ? {} : { admit: async (visitor) => await admitVisitor({ name: spec.name, type: 'tcpmux' }, visitor) }),
    })
    this.#ticket = tcpmux.open({
      name: spec.name,
      domains,
      routeByHTTPUser: spec.routeByHTTPUser ?? '',
      httpUser: spec.httpUser ?? '',
      httpPassword: spec.httpPassword ?? '',
      group: spec.group,
      groupKey: spec.groupKey ?? '',
      identity: this.#ctx.owner,
    }, this.#member)
    this.#phase = 'listening'
    return await Promise.resolve()
  }

  #accept (socket: Socket): void {
    if (this.#listener === undefined) { socket.destroy(); return }
    this.#listener.accept(socket)
  }

  setHealthy (healthy: boolean): void { this.#member.healthy = healthy }

  membership (): ProxyMembership {
    const group = this.#ticket?.group()
    return {
      ...(this.#spec.healthy === undefined ? {} : { health: this.#member.healthy ? 'healthy' : 'unhealthy' }),
      ...(group === undefined ? {} : { group }),
    }
  }

  /**
   * drain: the routes go at once, tunnels in flight go on; reset and drop also cut those. With
   * `reserve` (the session ended without a goodbye) its domains stay reserved for their owner
   * for the ownership grace, as on the vhost ports.
   */
  stop (mode: StopMode, reserve = mode !== 'reset'): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    this.#ticket?.leave(reserve)
    stopListener(this.#listener, mode)
  }

  status (): RelayProxyPhase { return this.#phase }

  describe (): ProxyEndpoint {
    const spec = this.#spec
    const limits = {
      ...(spec.bandwidthLimit === undefined ? {} : { bandwidthLimit: formatBandwidth(spec.bandwidthLimit) }),
      ...(spec.group === undefined ? {} : { group: spec.group }),
      ...(spec.routeByHTTPUser === undefined ? {} : { routeByHTTPUser: spec.routeByHTTPUser }),
    }
    return { remotePort: this.#ticket?.port ?? 0, domains: this.#ticket?.domains ?? [], limits }
  }

  metrics (): ProxyMetrics {
    return listenerMetrics(this.#listener)
  }
}

export const tcpmuxProxyKind = defineProxyKind({
  type: 'tcpmux',
  capability: Capability.TCPMUX,
  schema: tcpmuxSpecSchema,
  holdsPort: false,
  // Counted like an http proxy with one location: its domains and (domain) routes count against
  // the per-client and per-user caps (maxVhostProxiesPerClient, maxDomainsPerClient, ...).
  routes: (spec) => spec.customDomains.length + (spec.subdomain !== undefined && spec.subdomain !== '' ? 1 : 0),
  domains: (spec, config) => resolveDomains(spec, config.subDomainHost),
  create: (spec, ctx) => new TcpmuxRelayProxy(spec, ctx),
})
