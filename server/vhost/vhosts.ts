// The relay's virtual hosts: the HTTP port (vhostHTTPPort) and the HTTPS port (vhostHTTPSPort),
// their routing tables and counters, and the registration of http/https proxies into them. A
// proxy holds its (domain, location) pairs until its session closes, goes away or is replaced;
// its domains belong to its owner (the client identity), which keeps them reserved for
// ownershipGrace after its session ended (router.ts).
import { readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import type { ServerConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { BasicAuth } from './basic-auth.js'
import type { Session } from '../../shared/mux/index.js'
import { normalizeAddress } from '../../shared/net/index.js'
import type { HttpProxySpec, HttpsProxySpec } from '../../shared/wire/index.js'
import { SourceGate } from '../source-gate.js'
import { HttpGroups } from './http-groups.js'
import { HttpVhost } from './http-vhost.js'
import { HttpsVhost } from './https-vhost.js'
import { MAX_CUSTOM_PAGE_BYTES } from './pages.js'
import type { ClaimResult, RouterOptions } from './router.js'
import { checkHeaders, checkHostRewrite, resolveDomains, resolveLocations } from './spec-check.js'
import { newVhostStats, type VhostStats } from './stats.js'
import { Upstream } from './upstream.js'
import type { VisitorAdmission } from '../visitor-admission.js'
import { StreamTally, type StreamTraffic } from '../stream-tally.js'
import type { HttpRoute, HttpsRoute } from './vhost-route.js'
import type { VhostForwarder } from './fleet-forward.js'
import type { Duplex } from 'node:stream'

export type VhostSpec = HttpProxySpec | HttpsProxySpec

export function isVhostSpec (spec: { type: string }): spec is VhostSpec {
  return spec.type === 'http' || spec.type === 'https'
}

/** One registered http or https proxy, as its control session holds it. */
export class VhostProxy {
  readonly name: string
  readonly type: 'http' | 'https'
  /** The vhost port it is served on. */
  readonly port: number
  readonly domains: readonly string[]
  readonly locations: readonly string[]
  readonly #release: (reserve: boolean) => void
  readonly #destroy: () => void
  readonly #traffic: () => VhostTraffic
  #closed = false
  /** Health-checked proxies: takes the client's report (an unhealthy proxy gets no new streams). */
  setHealthy: ((healthy: boolean) => void) | undefined
  /** Load-balancing group members: the group now. */
  group: (() => { name: string, members: number, healthy: number }) | undefined

  constructor (fields: { name: string, type: 'http' | 'https', port: number, domains: string[], locations: string[] }, release: (reserve: boolean) => void, destroy: () => void, traffic: () => VhostTraffic) {
    this.#traffic = traffic
    this.name = fields.name
    this.type = fields.type
    this.port = fields.port
    this.domains = fields.domains
    this.locations = fields.locations
    this.#release = release
    this.#destroy = destroy
  }

  /**
   * Its routes go at once; requests in flight finish. `reserve`: the owner's session ended (it
   * did not give the proxy up), so a domain left without routes stays reserved for the owner for
   * the grace period; otherwise another client may claim it at once.
   */
  close (reserve = false): void {
    if (this.#closed) return
    this.#closed = true
    this.#release(reserve)
  }

  /** Also cuts the requests and connections in flight. */
  destroy (reserve = false): void {
    this.close(reserve)
    this.#destroy()
  }

  /** Bytes and streams so far (http: pooled streams to the service; https: one per connection). */
  traffic (): VhostTraffic { return this.#traffic() }
}

export interface VhostTraffic extends StreamTraffic {
  /** http: requests routed to it; https: connections. */
  requests: number
  /** Visitors refused by its allowSources/denySources. */
  refused: number
}

export interface RouterSize {
  routes: number
  domains: number
  reserved: number
}

/** What the vhost ports need of frps.yml. */
export interface VhostSettings {
  /** proxyBindAddr. */
  host: string
  /** null = not served; 0 = any free port (tests). */
  httpPort: number | null
  httpsPort: number | null
  /** The relay's client port: an httpsPort equal to it is not listened on; the relay hands its https visitors over (frp's shared port). */
  bindPort?: number
  subDomainHost: string
  /** vhostHTTPTimeout in ms. */
  responseHeaderTimeoutMs: number
  /** A file holding the 404 page, or null for the built-in one. */
  custom404Page: string | null
  /** ownershipGrace in ms: how long an owner's domains stay reserved after its session ended (default 0). */
  domainGraceMs?: number
  /** Wall clock for those reservations (tests inject one). */
  now?: () => number
}

export class Vhosts {
  readonly #settings: VhostSettings
  readonly #log: Logger
  readonly #stats: VhostStats = newVhostStats()
  /** Load-balancing groups of http proxies. */
  readonly #httpGroups: HttpGroups
  #http: HttpVhost | undefined
  #https: HttpsVhost | undefined
  #forwarder: VhostForwarder | undefined

  constructor (settings: VhostSettings, log: Logger) {
    this.#settings = settings
    this.#log = log
    this.#httpGroups = new HttpGroups(log.child({ vhost: 'http' }))
  }

  /** Undefined when frps.yml sets neither vhostHTTPPort nor vhostHTTPSPort (0 means off there, as in frp). */
  static fromConfig (config: ServerConfig, log: Logger, now?: () => number): Vhosts | undefined {
    if (config.vhostHTTPPort === 0 && config.vhostHTTPSPort === 0) return undefined
    return new Vhosts({
      host: config.proxyBindAddr,
      httpPort: config.vhostHTTPPort === 0 ? null : config.vhostHTTPPort,
      httpsPort: config.vhostHTTPSPort === 0 ? null : config.vhostHTTPSPort,
      bindPort: config.bindPort,
      subDomainHost: config.subDomainHost,
      responseHeaderTimeoutMs: config.vhostHTTPTimeout * 1000,
      custom404Page: config.custom404Page,
      domainGraceMs: config.ownershipGrace * 1000,
      ...(now === undefined ? {} : { now }),
    }, log)
  }

  /** A fleet relay's way to its peers: http requests for hosts served elsewhere are forwarded. */
  set forwarder (f: VhostForwarder | undefined) {
    this.#forwarder = f
    if (this.#http !== undefined) this.#http.forwarder = f
    if (this.#https !== undefined) this.#https.forwarder = f
  }

  /** A visitor connection a peer relay forwarded to the http or https port; false (and destroyed) when this relay has none. */
  acceptForwarded (kind: 'http' | 'https', socket: Duplex): boolean {
    if (kind === 'http' && this.#http !== undefined) { this.#http.acceptForwarded(socket); return true }
    // The https port treats it as a socket: it has a socket's addresses and resetAndDestroy (ForwardedDuplex).
    if (kind === 'https' && this.#https !== undefined) { this.#https.acceptForwarded(socket as Socket); return true }
    socket.destroy()
    return false
  }

  /** The counters, as a copy of plain numbers. */
  get stats (): VhostStats {
    return { http: { ...this.#stats.http }, https: { ...this.#stats.https } }
  }

  /** Opens the configured ports; throws TunnelError naming the address (and closes what it opened). */
  async start (admit?: VisitorAdmission): Promise<number[]> {
    const { host, httpPort, httpsPort, responseHeaderTimeoutMs } = this.#settings
    const ports: number[] = []
    try {
      if (httpPort !== null) {
        const notFoundPage = await this.#custom404()
        this.#http = new HttpVhost({ responseHeaderTimeoutMs, notFoundPage, routing: this.#routing() }, this.#stats.http, this.#log.child({ vhost: 'http' }), admit)
        this.#http.forwarder = this.#forwarder
        const port = await this.#http.listen(host, httpPort)
        ports.push(port)
        this.#log.info({ protocol: 'http', port }, 'vhost listening')
      }
      if (httpsPort !== null) {
        this.#https = new HttpsVhost(this.#stats.https, this.#log.child({ vhost: 'https' }), admit, this.#routing())
        this.#https.forwarder = this.#forwarder
        if (this.sharesBindPort) {
          this.#log.info({ protocol: 'https', port: httpsPort, shared: true }, 'vhost served on the client port (vhostHTTPSPort is bindPort)')
        } else {
          const port = await this.#https.listen(host, httpsPort)
          ports.push(port)
          this.#log.info({ protocol: 'https', port }, 'vhost listening')
        }
      }
    } catch (err) {
      this.destroy()
      throw err
    }
    return ports
  }

  /** vhostHTTPSPort is bindPort: the relay's client port hands TLS visitors to the https vhost. */
  get sharesBindPort (): boolean {
    const { httpsPort, bindPort } = this.#settings
    return httpsPort !== null && httpsPort === bindPort
  }

  /** An https visitor that arrived on the shared client port, `first` its bytes read so far (put back here): false, and nothing put back, when no https vhost runs. */
  acceptHttps (socket: Socket, first: Buffer): boolean {
    if (this.#https === undefined) return false
    socket.unshift(first)
    this.#https.accept(socket)
    socket.resume() // the client port's first read left it paused; the vhost reads with 'data' listeners
    return true
  }

  #routing (): RouterOptions {
    const { domainGraceMs, now } = this.#settings
    return { graceMs: domainGraceMs ?? 0, ...(now === undefined ? {} : { now }) }
  }

  async #custom404 (): Promise<string | undefined> {
    const path = this.#settings.custom404Page
    if (path === null) return undefined
    let text: Buffer
    try {
      text = await readFile(path)
    } catch (err) {
      throw new TunnelError('TUN_CONFIG_READ', `custom404Page ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err })
    }
    if (text.length > MAX_CUSTOM_PAGE_BYTES) throw new TunnelError('TUN_CONFIG_INVALID', `custom404Page ${path} is ${text.length} bytes; at most ${MAX_CUSTOM_PAGE_BYTES}`)
    return text.toString('utf8')
  }

  /**
   * Registers an http or https proxy of `session`, whose client identity is `owner` (the control
   * session's owner: only compared, never interpreted; a group admits other identities only with
   * its groupKey); throws TunnelError for this proxy alone.
   */
  /** `admit`: the relay's plugins asked about each https visitor (NewUserConn), as frp asks for every user connection of an https proxy. */
  open (spec: VhostSpec, session: Session, log: Logger, owner: string, admit?: HttpsRoute['admit']): VhostProxy {
    return spec.type === 'http' ? this.#openHttp(spec, session, log, owner) : this.#openHttps(spec, session, log, owner, admit)
  }

  #openHttp (spec: HttpProxySpec, session: Session, log: Logger, owner: string): VhostProxy {
    const vhost = this.#http
    if (vhost === undefined) throw new TunnelError('TUN_VHOST_UNAVAILABLE', 'this relay serves no http proxies: its frps.yml does not set vhostHTTPPort')
    const domains = resolveDomains(spec, this.#settings.subDomainHost)
    const locations = resolveLocations(spec.locations)
    const user = spec.httpUser ?? ''
    const password = spec.httpPassword ?? ''
    const plog = log.child({ proxy: spec.name })
    const listener = { address: normalizeAddress(this.#settings.host), port: vhost.port }
    const makeRoute = (upstream: Upstream): HttpRoute => ({
      kind: 'http',
      name: spec.name,
      session,
      upstream,
      auth: user === '' && password === '' ? undefined : new BasicAuth(user, password),
      hostHeaderRewrite: checkHostRewrite(spec.hostHeaderRewrite),
      requestHeaders: checkHeaders('requestHeaders.set', spec.requestHeaders),
      responseHeaders: checkHeaders('responseHeaders.set', spec.responseHeaders),
      gate: new SourceGate(spec, plog),
      log: plog,
      requests: 0,
      perVisitor: spec.proxyProtocol === true,
    })
    if (spec.group !== undefined) {
      const routeUser = spec.routeByHTTPUser ?? ''
      const t = this.#httpGroups.join({ ...spec, group: spec.group }, session, owner, { router: vhost.router, domains, locations, user: routeUser, listener, makeRoute })
      const member = new VhostProxy({ name: spec.name, type: 'http', port: vhost.port, domains, locations },
        (reserve) => { t.leave(reserve) },
        () => { t.cut() },
        () => ({ ...t.member.tally.traffic(), requests: t.route.requests, refused: t.route.gate.refused }))
      member.setHealthy = t.setHealthy
      member.group = t.view
      return member
    }
    const route = makeRoute(new Upstream(session, spec.name, listener))
    if (spec.healthy === false) route.upstream.healthy = false
    // Guarded locations also take the other spellings of their paths (router.ts).
    const guarded = route.auth !== undefined || route.gate.filters
    refuseConflict(vhost.router.claim(domains, locations, route, owner, guarded, spec.routeByHTTPUser ?? ''), session, 'http', spec.routeByHTTPUser ?? '')
    const proxy = new VhostProxy({ name: spec.name, type: 'http', port: vhost.port, domains, locations },
      (reserve) => { vhost.router.release(route, reserve); route.upstream.closeIdle() },
      () => { route.upstream.destroy() },
      () => ({ ...route.upstream.tally.traffic(), requests: route.requests, refused: route.gate.refused }))
    proxy.setHealthy = (healthy) => {
      route.upstream.healthy = healthy
      if (!healthy) route.upstream.dropIdle()
    }
    return proxy
  }

  #openHttps (spec: HttpsProxySpec, session: Session, log: Logger, owner: string, admit: HttpsRoute['admit']): VhostProxy {
    const vhost = this.#https
    if (vhost === undefined) throw new TunnelError('TUN_VHOST_UNAVAILABLE', 'this relay serves no https proxies: its frps.yml does not set vhostHTTPSPort')
    const domains = resolveDomains(spec, this.#settings.subDomainHost)
    const plog = log.child({ proxy: spec.name })
    const route: HttpsRoute = { kind: 'https', name: spec.name, session, gate: new SourceGate(spec, plog), log: plog, tally: new StreamTally(), connections: 0, admit }
    refuseConflict(vhost.router.claim(domains, ['/'], route, owner), session, 'https')
    // Open TLS connections are streams of the session: they end with it.
    return new VhostProxy({ name: spec.name, type: 'https', port: vhost.port, domains, locations: [] },
      (reserve) => { vhost.router.release(route, reserve) },
      () => {},
      () => ({ ...route.tally.traffic(), requests: route.connections, refused: route.gate.refused }))
  }

  /** The routing tables' sizes: routes, domains (with routes or reserved), reserved domains. */
  get tables (): { http: RouterSize, https: RouterSize } {
    const size = (r: { size: number, domainCount: number, reservedCount: number } | undefined): RouterSize => ({ routes: r?.size ?? 0, domains: r?.domainCount ?? 0, reserved: r?.reservedCount ?? 0 })
    return { http: size(this.#http?.router), https: size(this.#https?.router) }
  }

  /** The ports listened on (after start). */
  get httpPort (): number | undefined { return this.#http?.port }
  get httpsPort (): number | undefined { return this.#https?.port }

  /** Stops accepting on the vhost ports; requests and connections in flight go on. */
  close (): void {
    this.#http?.close()
    this.#https?.close()
  }

  destroy (): void {
    this.#http?.destroy()
    this.#https?.destroy()
  }
}

function refuseConflict (claim: ClaimResult<HttpRoute | HttpsRoute>, session: Session, type: string, user = ''): void {
  if (claim.ok) return
  if (claim.reason === 'owned') {
    throw new TunnelError('TUN_DOMAIN_OWNED', `${type} domain ${claim.domain} belongs to another client (or is reserved for it while it reconnects); a domain has one owner, and only it can add locations to it`)
  }
  const where = type === 'http' ? `${claim.domain} (location ${claim.location}${user === '' ? '' : `, routeByHTTPUser ${user}`})` : claim.domain
  const who = claim.holder.session === session ? `proxy ${claim.holder.name} of this client` : 'a proxy of another client'
  throw new TunnelError('TUN_VHOST_CONFLICT', `${type} ${where} is already served by ${who}; each domain and location can have one owner`)
}
