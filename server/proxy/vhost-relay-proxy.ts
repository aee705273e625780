// http and https proxies hold domains (and locations) on the relay's shared vhost ports, not a
// port of their own: start() claims their routes in the vhost router, stop() releases them.
import { TunnelError } from '../../shared/errors.js'
import type { HttpProxySpec, HttpsProxySpec } from '../../shared/wire/index.js'
import type { VhostProxy } from '../vhost/index.js'
import type { ProxyContext, ProxyEndpoint, ProxyMembership, ProxyMetrics, RelayProxy, RelayProxyPhase, StopMode } from './relay-proxy.js'

export class VhostRelayProxy implements RelayProxy {
  readonly name: string
  readonly type: 'http' | 'https'
  readonly #spec: HttpProxySpec | HttpsProxySpec
  readonly #ctx: ProxyContext
  #routes: VhostProxy | undefined
  #phase: RelayProxyPhase = 'starting'
  #healthy: boolean

  constructor (spec: HttpProxySpec | HttpsProxySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.type = spec.type
    this.#spec = spec
    this.#ctx = ctx
    this.#healthy = spec.type !== 'http' || spec.healthy !== false
  }

  async start (): Promise<void> {
    const vhosts = this.#ctx.vhosts
    if (vhosts === undefined) throw new TunnelError('TUN_VHOST_UNAVAILABLE', `this relay serves no ${this.type} proxies: its frps.yml sets neither vhostHTTPPort nor vhostHTTPSPort`)
    const ask = this.#ctx.admitVisitor
    const name = this.#spec.name
    this.#routes = vhosts.open(this.#spec, this.#ctx.session, this.#ctx.log, this.#ctx.owner, ask === undefined ? undefined : async (visitor) => await ask({ name, type: 'https' }, visitor))
    this.#phase = 'listening'
    return await Promise.resolve()
  }

  /**
   * drain: the routes go at once, requests in flight finish; reset and drop also cut those.
   * With `reserve` (the session ended without a goodbye) its domains stay reserved for the owner
   * for the ownership grace; without (an unregister, a goodbye) they are free at once.
   */
  stop (mode: StopMode, reserve = mode !== 'reset'): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    if (mode === 'drain') this.#routes?.close(reserve)
    else this.#routes?.destroy(reserve)
  }

  status (): RelayProxyPhase { return this.#phase }

  setHealthy (healthy: boolean): void {
    this.#healthy = healthy
    this.#routes?.setHealthy?.(healthy)
  }

  membership (): ProxyMembership {
    const group = this.#routes?.group?.()
    return {
      ...(this.#spec.type === 'http' && this.#spec.healthy !== undefined ? { health: this.#healthy ? 'healthy' : 'unhealthy' } : {}),
      ...(group === undefined ? {} : { group }),
    }
  }

  describe (): ProxyEndpoint {
    const r = this.#routes
    return { remotePort: r?.port ?? 0, domains: r?.domains ?? [] }
  }

  metrics (): ProxyMetrics {
    const t = this.#routes?.traffic()
    return { streams: { active: t?.active ?? 0, total: t?.total ?? 0 }, flows: null, bytesIn: t?.bytesIn ?? 0, bytesOut: t?.bytesOut ?? 0, refused: t?.refused ?? 0, dropped: 0, udpDrops: null }
  }
}
