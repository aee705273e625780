// The tcp proxy type: a public TCP port whose every visitor becomes a stream to the client
// (tcp-proxy.ts does the listening and bridging). With loadBalancer.group it shares the port of
// its group instead (tcp-groups.ts), which hands it the visitors it picks for it.
import type { Socket } from 'node:net'
import { TunnelError } from '../../shared/errors.js'
import { formatBandwidth } from '../../shared/limit/index.js'
import { Capability, tcpSpecSchema, type TcpProxySpec } from '../../shared/wire/index.js'
import { TcpProxy, type TcpProxyOptions } from '../tcp-proxy.js'
import { defineProxyKind, type ProxyContext, type ProxyEndpoint, type ProxyMembership, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type StopMode } from './relay-proxy.js'
import { listenerMetrics, stopListener } from './tcp-listener.js'
import type { TcpGroupTicket } from './tcp-groups.js'

class TcpRelayProxy implements RelayProxy {
  readonly type = 'tcp'
  readonly name: string
  readonly #spec: TcpProxySpec
  readonly #ctx: ProxyContext
  #listener: TcpProxy | undefined
  /** Set while it is a member of a load-balancing group. */
  #group: TcpGroupTicket | undefined
  /** Its place in the group's turns (the health flag the group reads). */
  #member: { healthy: boolean } | undefined
  #phase: RelayProxyPhase = 'starting'

  constructor (spec: TcpProxySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.#spec = spec
    this.#ctx = ctx
  }

  async start (): Promise<void> {
    const { session, log, budget, admitVisitor } = this.#ctx
    const spec = this.#spec
    const options: TcpProxyOptions = {
      sources: spec,
      bandwidthLimit: spec.bandwidthLimit,
      maxVisitors: spec.maxVisitors,
      maxVisitorsPerSource: this.#ctx.config.maxVisitorsPerSource,
      clientSources: this.#ctx.clientSources,
      ...(budget === undefined ? {} : { budget }),
      ...(admitVisitor === undefined ? {} : { admit: async (visitor) => await admitVisitor({ name: spec.name, type: 'tcp' }, visitor) }),
    }
    if (spec.group !== undefined) {
      await this.#join(spec.group, options)
    } else {
      this.#listener = await this.#ctx.ports.bind(spec.remotePort, this.#ctx.owner, async (host, port) => await TcpProxy.open(spec.name, host, port, session, log, options))
      if (spec.healthy === false) this.#listener.healthy = false
    }
    this.#phase = 'listening'
  }

  async #join (group: string, options: TcpProxyOptions): Promise<void> {
    const groups = this.#ctx.tcpGroups
    if (groups === undefined) throw new TunnelError('TUN_PROXY_INVALID', 'this relay serves no load-balancing groups')
    const spec = this.#spec
    // The member exists before it joins: the group may pick it as soon as it is in.
    const member = { name: spec.name, healthy: spec.healthy !== false, accept: (socket: Socket) => { if (this.#listener === undefined) socket.destroy(); else this.#listener.accept(socket) } }
    this.#group = await groups.join({ group, groupKey: spec.groupKey ?? '', remotePort: spec.remotePort, identity: this.#ctx.owner, member })
    this.#member = member
    this.#listener = TcpProxy.member(spec.name, this.#group.port, this.#ctx.session, this.#ctx.log, options)
  }

  setHealthy (healthy: boolean): void {
    if (this.#member !== undefined) this.#member.healthy = healthy
    else if (this.#listener !== undefined) this.#listener.healthy = healthy
  }

  membership (): ProxyMembership {
    const healthy = this.#member?.healthy ?? this.#listener?.healthy ?? true
    return {
      ...(this.#spec.healthy === undefined ? {} : { health: healthy ? 'healthy' : 'unhealthy' }),
      ...(this.#group === undefined ? {} : { group: this.#group.view() }),
    }
  }

  stop (mode: StopMode): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    this.#group?.leave()
    stopListener(this.#listener, mode)
  }

  status (): RelayProxyPhase { return this.#phase }

  describe (): ProxyEndpoint {
    const spec = this.#spec
    const limits = {
      ...(spec.bandwidthLimit === undefined ? {} : { bandwidthLimit: formatBandwidth(spec.bandwidthLimit) }),
      ...(spec.maxVisitors === undefined ? {} : { maxVisitors: spec.maxVisitors }),
      ...(spec.group === undefined ? {} : { group: spec.group }),
    }
    return { remotePort: this.#listener?.port ?? 0, limits, ...(this.#group === undefined ? {} : { reservedFor: this.#group.owner }) }
  }

  metrics (): ProxyMetrics {
    return listenerMetrics(this.#listener)
  }
}

export const tcpProxyKind = defineProxyKind({
  type: 'tcp',
  capability: Capability.TCP,
  schema: tcpSpecSchema,
  holdsPort: true,
  create: (spec, ctx) => new TcpRelayProxy(spec, ctx),
})
