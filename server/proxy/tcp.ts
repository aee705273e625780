// The tcp proxy type: a public TCP port whose every visitor becomes a stream to the client
// (tcp-proxy.ts does the listening and bridging).
import { formatBandwidth } from '../../shared/limit/index.js'
import { Capability, tcpSpecSchema, type TcpProxySpec } from '../../shared/wire/index.js'
import { TcpProxy } from '../tcp-proxy.js'
import { defineProxyKind, type ProxyContext, type ProxyEndpoint, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type StopMode } from './relay-proxy.js'

class TcpRelayProxy implements RelayProxy {
  readonly type = 'tcp'
  readonly name: string
  readonly #spec: TcpProxySpec
  readonly #ctx: ProxyContext
  #listener: TcpProxy | undefined
  #phase: RelayProxyPhase = 'starting'

  constructor (spec: TcpProxySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.#spec = spec
    this.#ctx = ctx
  }

  async start (): Promise<void> {
    const { session, log, budget } = this.#ctx
    const spec = this.#spec
    this.#listener = await this.#ctx.ports.bind(spec.remotePort, this.#ctx.owner, async (host, port) => await TcpProxy.open(spec.name, host, port, session, log, {
      sources: spec,
      bandwidthLimit: spec.bandwidthLimit,
      maxVisitors: spec.maxVisitors,
      maxVisitorsPerSource: this.#ctx.config.maxVisitorsPerSource,
      clientSources: this.#ctx.clientSources,
      ...(budget === undefined ? {} : { budget }),
    }))
    this.#phase = 'listening'
  }

  stop (mode: StopMode): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    const l = this.#listener
    if (mode === 'drain') l?.close()
    else if (mode === 'reset') l?.reset()
    else l?.destroy()
  }

  status (): RelayProxyPhase { return this.#phase }

  describe (): ProxyEndpoint {
    const spec = this.#spec
    const limits = {
      ...(spec.bandwidthLimit === undefined ? {} : { bandwidthLimit: formatBandwidth(spec.bandwidthLimit) }),
      ...(spec.maxVisitors === undefined ? {} : { maxVisitors: spec.maxVisitors }),
    }
    return { remotePort: this.#listener?.port ?? 0, limits }
  }

  metrics (): ProxyMetrics {
    const t = this.#listener?.traffic()
    if (t === undefined) return { streams: { active: 0, total: 0 }, flows: null, bytesIn: 0, bytesOut: 0, refused: 0, dropped: 0, udpDrops: null }
    return { streams: { active: t.activeStreams, total: t.streamsTotal }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: t.refused, dropped: t.dropped, udpDrops: null }
  }
}

export const tcpProxyKind = defineProxyKind({
  type: 'tcp',
  capability: Capability.TCP,
  schema: tcpSpecSchema,
  holdsPort: true,
  create: (spec, ctx) => new TcpRelayProxy(spec, ctx),
})
