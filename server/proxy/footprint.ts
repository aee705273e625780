// What proxies hold on the relay, counted per client (one control session) and per user (the
// login's `user`, frp's name prefix, over all its sessions), against frps.yml's caps: proxies,
// public ports, http/https proxies, distinct domains and (domain, location) routes. A proxy past
// a cap is refused alone (TUN_CLIENT_LIMIT; ports keep maxPortsPerClient's TUN_PORT_NOT_ALLOWED)
// before anything is opened, so one token holder cannot make the relay hold unbounded tables.
// Every check and update is O(domains of the proxy).
import type { ServerConfig } from '../../shared/config/index.js'

/** What one proxy holds. */
export interface Footprint {
  /** A public port of its own (tcp, udp). */
  port: boolean
  /** An http, https or tcpmux proxy on the shared vhost or tcpmux ports. */
  vhost: boolean
  /** The domains it claims (normalised, without repeats). */
  domains: readonly string[]
  /** (domain, location) pairs its spec lists: domains x locations (https: x 1), repeats included. */
  routes: number
}

/** Caps of one scope; 0 = none. */
export interface FootprintLimits {
  proxies: number
  ports: number
  vhostProxies: number
  domains: number
  routes: number
}

/** The config key of each cap, per scope, for refusal messages. */
const KEYS: Readonly<Record<'client' | 'user', Readonly<Record<keyof FootprintLimits, string>>>> = {
  client: { proxies: 'maxProxiesPerClient', ports: 'maxPortsPerClient', vhostProxies: 'maxVhostProxiesPerClient', domains: 'maxDomainsPerClient', routes: 'maxLocationsPerClient' },
  user: { proxies: 'maxProxiesPerUser', ports: '', vhostProxies: 'maxVhostProxiesPerUser', domains: 'maxDomainsPerUser', routes: 'maxLocationsPerUser' },
}

const WHAT: Readonly<Record<keyof FootprintLimits, string>> = {
  proxies: 'proxies',
  ports: 'ports',
  vhostProxies: 'http/https/tcpmux proxies',
  domains: 'domains',
  routes: 'locations (domain x location pairs)',
}

export function clientLimits (config: ServerConfig): FootprintLimits {
  return { proxies: config.maxProxiesPerClient, ports: config.maxPortsPerClient, vhostProxies: config.maxVhostProxiesPerClient, domains: config.maxDomainsPerClient, routes: config.maxLocationsPerClient }
}

export function userLimits (config: ServerConfig): FootprintLimits {
  return { proxies: config.maxProxiesPerUser, ports: 0, vhostProxies: config.maxVhostProxiesPerUser, domains: config.maxDomainsPerUser, routes: config.maxLocationsPerUser }
}

/** A cap a proxy would pass: which, its config key, how much is held. */
export interface Excess {
  cap: keyof FootprintLimits
  key: string
  limit: number
  held: number
  /** `maxDomainsPerClient 64: this client already holds 64 domains and the proxy adds 2`. */
  message: string
}

/** The counts of one scope. */
export class FootprintTally {
  readonly #scope: 'client' | 'user'
  readonly #label: string
  proxies = 0
  ports = 0
  vhostProxies = 0
  routes = 0
  /** domain → proxies of this scope that claim it. */
  readonly #domains = new Map<string, number>()

  /** `label`: how messages name the scope (`this client`, `user "bob"`). */
  constructor (scope: 'client' | 'user', label: string) {
    this.#scope = scope
    this.#label = label
  }

  get domains (): number { return this.#domains.size }

  /** The first cap `fp` would pass, or undefined. */
  excess (fp: Footprint, limits: FootprintLimits): Excess | undefined {
    const newDomains = fp.domains.reduce((n, d) => n + (this.#domains.has(d) ? 0 : 1), 0)
    const checks: Array<[keyof FootprintLimits, number, number]> = [
      ['proxies', this.proxies, 1],
      ['ports', this.ports, fp.port ? 1 : 0],
      ['vhostProxies', this.vhostProxies, fp.vhost ? 1 : 0],
      ['domains', this.domains, newDomains],
      ['routes', this.routes, fp.routes],
    ]
    for (const [cap, held, adds] of checks) {
      const limit = limits[cap]
      if (limit <= 0 || adds === 0 || held + adds <= limit) continue
      const key = KEYS[this.#scope][cap]
      const more = adds === 1 ? '' : ` and the proxy adds ${adds}`
      return { cap, key, limit, held, message: `${key} ${limit}: ${this.#label} already holds ${held} ${WHAT[cap]}${more}` }
    }
    return undefined
  }

  add (fp: Footprint): void {
    this.proxies++
    if (fp.port) this.ports++
    if (fp.vhost) this.vhostProxies++
    this.routes += fp.routes
    for (const d of fp.domains) this.#domains.set(d, (this.#domains.get(d) ?? 0) + 1)
  }

  remove (fp: Footprint): void {
    this.proxies--
    if (fp.port) this.ports--
    if (fp.vhost) this.vhostProxies--
    this.routes -= fp.routes
    for (const d of fp.domains) {
      const n = (this.#domains.get(d) ?? 0) - 1
      if (n <= 0) this.#domains.delete(d)
      else this.#domains.set(d, n)
    }
  }

  get empty (): boolean { return this.proxies === 0 }
}

function newUserTally (user: string): FootprintTally {
  return new FootprintTally('user', `user ${JSON.stringify(user.slice(0, 64))}`)
}

/** The per-user tallies of the relay: one per user that holds at least one proxy. */
export class UserFootprints {
  readonly #byUser = new Map<string, FootprintTally>()

  /** The tally of `user` (made on first use); undefined for the empty user, which has no per-user caps. */
  tally (user: string): FootprintTally | undefined {
    if (user === '') return undefined
    let t = this.#byUser.get(user)
    if (t === undefined) {
      t = newUserTally(user)
      this.#byUser.set(user, t)
    }
    return t
  }

  /** The first per-user cap `fp` would pass for `user`; remembers nothing (a refused user leaves no tally behind). */
  excess (user: string, fp: Footprint, limits: FootprintLimits): Excess | undefined {
    if (user === '') return undefined
    return (this.#byUser.get(user) ?? newUserTally(user)).excess(fp, limits)
  }

  /** Forgets a user's tally once it holds nothing (called after a remove). */
  prune (user: string): void {
    if (this.#byUser.get(user)?.empty === true) this.#byUser.delete(user)
  }

  get users (): number { return this.#byUser.size }
}
