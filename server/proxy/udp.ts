// The udp proxy type: a public UDP port whose visitors become flows of whole datagrams to the
// client (udp-proxy.ts does the receiving, flow table and replies).
import { formatBandwidth } from '../../shared/limit/index.js'
import { Capability, udpSpecSchema, type UdpProxySpec } from '../../shared/wire/index.js'
import { UdpProxy } from '../udp-proxy.js'
import { defineProxyKind, type ProxyContext, type ProxyEndpoint, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type StopMode } from './relay-proxy.js'

class UdpRelayProxy implements RelayProxy {
  readonly type = 'udp'
  readonly name: string
  readonly #spec: UdpProxySpec
  readonly #ctx: ProxyContext
  #socket: UdpProxy | undefined
  #phase: RelayProxyPhase = 'starting'

  constructor (spec: UdpProxySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.#spec = spec
    this.#ctx = ctx
  }

  async start (): Promise<void> {
    const { session, log, budget } = this.#ctx
    const spec = this.#spec
    const hub = this.#ctx.udpHub()
    this.#socket = await this.#ctx.ports.bind(spec.remotePort, this.#ctx.owner, async (host, port) => await UdpProxy.open(spec.name, host, port, session, hub, log, {
      sources: spec,
      bandwidthLimit: spec.bandwidthLimit,
      idleTimeoutMs: spec.idleTimeout * 1000,
      maxFlows: spec.maxFlows,
      maxFlowsPerSource: this.#ctx.config.maxFlowsPerSource,
      ...(budget === undefined ? {} : { budget }),
    }))
    this.#phase = 'listening'
  }

  /** UDP has no half-open state: drain and reset both close every flow and tell the client (FIN); drop tells no one. */
  stop (mode: StopMode): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    if (mode === 'drop') this.#socket?.destroy()
    else this.#socket?.close()
  }

  status (): RelayProxyPhase { return this.#phase }

  describe (): ProxyEndpoint {
    const limit = this.#spec.bandwidthLimit
    return { remotePort: this.#socket?.port ?? 0, limits: limit === undefined ? {} : { bandwidthLimit: formatBandwidth(limit) } }
  }

  metrics (): ProxyMetrics {
    const s = this.#socket
    if (s === undefined) return { streams: null, flows: { active: 0, total: 0 }, bytesIn: 0, bytesOut: 0, refused: 0, dropped: 0, udpDrops: null }
    const c = s.counters
    return { streams: null, flows: { active: s.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refused: s.refused, dropped: 0, udpDrops: { ...c.drops } }
  }
}

export const udpProxyKind = defineProxyKind({
  type: 'udp',
  capability: Capability.UDP,
  schema: udpSpecSchema,
  holdsPort: true,
  create: (spec, ctx) => new UdpRelayProxy(spec, ctx),
})
