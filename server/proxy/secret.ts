// The secret proxy types (frp's stcp and sudp): no public port. The proxy puts itself in the
// relay's secret directory, where the visit broker (server/visit) finds it for a visitor that
// named it and proved it knows the secret; the proxy then opens a stream toward its home client
// (the visit block forwarded, so the home client checks the proof too) and joins the two streams
// (shared/mux/join.ts: flow control end to end). stcp and sudp differ only at the two ends (an
// sudp stream carries whole datagrams): here they are the same. Caps: the proxy's maxVisitors
// (stcp) and the home session's share of visits (directory.ts).
import { formatBandwidth, TokenBucket } from '../../shared/limit/index.js'
import { joinStreams, type MuxStream } from '../../shared/mux/index.js'
import { SourceFilter } from '../../shared/net/index.js'
import { userAllowed } from '../../shared/visit/index.js'
import { TunnelError } from '../../shared/errors.js'
import { ResetCode, VISIT_MAC_BYTES, VisitKind, type SecretProxySpec, type VisitBlock } from '../../shared/wire/index.js'
import { newVisitRefusalCounts, type SecretEndpoint, type VisitorSide, type VisitRefusal, type VisitRefusalCounts } from '../visit/index.js'
import type { ProxyContext, ProxyEndpoint, ProxyMetrics, RelayProxy, RelayProxyPhase, StopMode } from './relay-proxy.js'

const ZERO_MAC = Buffer.alloc(VISIT_MAC_BYTES)

export class SecretRelayProxy implements RelayProxy, SecretEndpoint {
  readonly type: 'stcp' | 'sudp' | 'xtcp'
  readonly name: string
  readonly kind: VisitKind
  readonly relayKey: Buffer
  readonly admit: ((visitor: VisitorSide) => Promise<boolean>) | undefined
  readonly #spec: SecretProxySpec
  readonly #ctx: ProxyContext
  readonly #sources: SourceFilter
  readonly #limiter: TokenBucket | undefined
  readonly #maxVisitors: number
  /** Open visits: the visitor's stream → the stream toward the home client. */
  readonly #visits = new Map<MuxStream, MuxStream>()
  readonly #refusals: VisitRefusalCounts = newVisitRefusalCounts()
  #phase: RelayProxyPhase = 'starting'
  #total = 0
  #doneIn = 0
  #doneOut = 0

  constructor (spec: SecretProxySpec, ctx: ProxyContext) {
    this.type = spec.type
    this.name = spec.name
    this.kind = spec.type === 'stcp' ? VisitKind.STCP : spec.type === 'sudp' ? VisitKind.SUDP : VisitKind.XTCP
    this.relayKey = Buffer.from(spec.relayKey, 'base64')
    this.#spec = spec
    this.#ctx = ctx
    this.#sources = new SourceFilter(spec.allowSources ?? [], spec.denySources ?? [])
    this.#limiter = spec.bandwidthLimit === undefined ? undefined : new TokenBucket(spec.bandwidthLimit)
    this.#maxVisitors = spec.type === 'stcp' ? spec.maxVisitors ?? 0 : 0
    // frp sends NewUserConn for every user connection its stcp and sudp proxies carry (the owner's
    // user, the proxy's name and type, the visitor client's address); an xtcp visit carries only
    // the introduction (frp's relay carries no user connection for it either).
    const ask = ctx.admitVisitor
    this.admit = ask === undefined || spec.type === 'xtcp' ? undefined : async (visitor) => await ask({ name: spec.name, type: spec.type }, visitor.remote)
  }

  async start (): Promise<void> {
    const directory = this.#ctx.visits
    if (directory === undefined) throw new TunnelError('TUN_PROXY_INVALID', `this relay serves no ${this.type} proxies`)
    directory.add(this)
    this.#phase = 'listening'
  }

  /** drain: visitors can no longer come, open visits go on; reset and drop: every open visit is reset. */
  stop (mode: StopMode): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    this.#ctx.visits?.remove(this)
    if (mode === 'drain') return
    for (const [visitor, home] of [...this.#visits]) {
      visitor.reset(ResetCode.CANCEL)
      home.reset(ResetCode.CANCEL)
    }
  }

  status (): RelayProxyPhase { return this.#phase }

  describe (): ProxyEndpoint {
    const limits = {
      ...(this.#limiter === undefined ? {} : { bandwidthLimit: formatBandwidth(this.#limiter.rate) }),
      ...(this.#maxVisitors > 0 ? { maxVisitors: this.#maxVisitors } : {}),
    }
    return { remotePort: 0, limits }
  }

  metrics (): ProxyMetrics {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const [visitor, home] of this.#visits) {
      bytesIn += visitor.bytesIn
      bytesOut += home.bytesIn
    }
    const r = this.#refusals
    const refused = Object.values(r).reduce((a, b) => a + b, 0) - r.proxyLimit - r.homeUnavailable
    const visitRefusals = Object.fromEntries(Object.entries(r).filter(([, n]) => n > 0))
    return { streams: { active: this.#visits.size, total: this.#total }, flows: null, bytesIn, bytesOut, refused, dropped: r.proxyLimit + r.homeUnavailable, udpDrops: null, visitRefusals }
  }

  allowsUser (user: string): boolean {
    return userAllowed(this.#spec.allowUsers, this.#ctx.user ?? '', user)
  }

  admitsSource (address: string): boolean { return this.#sources.admits(address) }

  noteRefusal (reason: VisitRefusal): void { this.#refusals[reason]++ }

  join (visitor: VisitorSide, stream: MuxStream, visit: VisitBlock, done: () => void): VisitRefusal | undefined {
    const directory = this.#ctx.visits
    const home = this.#ctx.session
    if (this.#phase !== 'listening' || directory === undefined || home.closed) return 'homeUnavailable'
    if (this.#maxVisitors > 0 && this.#visits.size >= this.#maxVisitors) return 'proxyLimit'
    if (!directory.holdHomeVisit(home)) return 'proxyLimit'
    let toHome: MuxStream
    try {
      toHome = home.openStream({ proxy: this.name, visitor: visitor.remote, listener: visitor.local, visit: { ...visit, relayMac: ZERO_MAC, user: visitor.user } })
    } catch {
      directory.releaseHomeVisit(home)
      return 'homeUnavailable'
    }
    this.#visits.set(stream, toHome)
    this.#total++
    stream.accept()
    joinStreams(stream, toHome, (r) => {
      this.#visits.delete(stream)
      directory.releaseHomeVisit(home)
      this.#doneIn += r.bytesAtoB
      this.#doneOut += r.bytesBtoA
      this.#ctx.log.debug({ proxy: this.name, visitor: visitor.clientId, bytesIn: r.bytesAtoB, bytesOut: r.bytesBtoA, code: r.error?.code }, 'visit closed')
      done()
    }, { limiter: this.#limiter })
    return undefined
  }
}
