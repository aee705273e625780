// The routing table of the tcpmux port (pure): (domain, routeByHTTPUser) → the route serving it,
// a route being one proxy or a load-balancing group of proxies that take visitors in turn. A
// lookup tries the CONNECT host, then its wildcard parents, then `*` (as the vhosts do), and at
// each name first the route of the request's Proxy-Authorization user, then the one for any
// user (frp's order). One (domain, user) has one route: a second proxy is refused unless it
// joins the route's group with the group's key. Claims are all or nothing over a proxy's domains.
import { timingSafeEqual, createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { TunnelError } from '../../shared/errors.js'
import { lookupOrder } from '../../shared/http/index.js'
import { groupKeyDigest, groupOwner, groupRefusal, RoundRobin, type GroupMember } from '../group/index.js'
import { MAX_RESERVED_DOMAINS, type Reservation, Reservations } from '../vhost/index.js'

export interface TcpmuxMember extends GroupMember {
  /** Takes a visitor whose CONNECT head was answered (or, passthrough, put back in front). */
  accept: (socket: Socket) => void
}

/** What a proxy asks for on the tcpmux port. */
export interface TcpmuxClaim {
  name: string
  domains: readonly string[]
  routeByHTTPUser: string
  httpUser: string
  httpPassword: string
  group: string | undefined
  groupKey: string
  /** The client key of the proxy's session. */
  identity: string
}

export class TcpmuxRoute {
  readonly domain: string
  readonly user: string
  /** Digests of httpUser and httpPassword; undefined = no Proxy-Authorization asked for. */
  readonly #auth: { user: Buffer, password: Buffer } | undefined
  readonly group: { name: string, keyDigest: Buffer, keyless: boolean, creator: string } | undefined
  readonly members = new RoundRobin<TcpmuxMember>()

  constructor (domain: string, claim: TcpmuxClaim) {
    this.domain = domain
    this.user = claim.routeByHTTPUser
    this.#auth = claim.httpUser === '' && claim.httpPassword === '' ? undefined : { user: digest(claim.httpUser), password: digest(claim.httpPassword) }
    this.group = claim.group === undefined ? undefined : { name: claim.group, keyDigest: groupKeyDigest(claim.groupKey), keyless: claim.groupKey === '', creator: claim.identity }
  }

  get needsAuth (): boolean { return this.#auth !== undefined }

  /** Whether the request's credentials are the route's (constant time); true when it asks for none. */
  authorizes (user: string | undefined, password: string | undefined): boolean {
    if (this.#auth === undefined) return true
    const u = timingSafeEqual(this.#auth.user, digest(user ?? ''))
    const p = timingSafeEqual(this.#auth.password, digest(password ?? ''))
    return u && p && user !== undefined
  }

  /** Same credentials as `claim` (members of a group must agree on them). */
  sameAuth (claim: TcpmuxClaim): boolean {
    const other = claim.httpUser === '' && claim.httpPassword === '' ? undefined : { user: digest(claim.httpUser), password: digest(claim.httpPassword) }
    if (this.#auth === undefined || other === undefined) return this.#auth === other
    return timingSafeEqual(this.#auth.user, other.user) && timingSafeEqual(this.#auth.password, other.password)
  }
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** How long a domain stays reserved for its owner after its session ended, and the clock. */
export interface TcpmuxOwnership {
  graceMs: number
  now: () => number
}

/** Who holds a domain of the tcpmux port: its owner, while it has routes or a reservation. */
interface DomainOwner extends Reservation {
  /** 0 while the domain has routes; else when its reservation ends. */
  reservedUntil: number
}

export class TcpmuxRoutes {
  /** domain → routeByHTTPUser ('' = any user) → route. */
  readonly #domains = new Map<string, Map<string, TcpmuxRoute>>()
  /**
   * domain → its owner (as on the vhost ports: the client identity, or a keyed group itself):
   * another owner's proxy is refused TUN_DOMAIN_OWNED, also for ownershipGrace after the
   * owner's session ended. Bounded by the domains with routes plus the reservations.
   */
  readonly #owners = new Map<string, DomainOwner>()
  /** The reservations, bounded as the vhost ports' are (the owner holding the most loses its oldest). */
  readonly #reserved = new Reservations<DomainOwner>()
  readonly #ownership: TcpmuxOwnership

  constructor (ownership: Partial<TcpmuxOwnership> = {}) {
    this.#ownership = { graceMs: ownership.graceMs ?? 0, now: ownership.now ?? Date.now }
  }

  /** Domains reserved for an owner whose session ended (not yet expired). */
  get reservedCount (): number {
    this.#expire()
    return this.#reserved.size
  }

  #expire (): void {
    const now = this.#ownership.now()
    for (let e = this.#reserved.expiredAt(now); e !== undefined; e = this.#reserved.expiredAt(now)) this.#drop(e)
    while (this.#reserved.size > MAX_RESERVED_DOMAINS) {
      const e = this.#reserved.heaviest()
      if (e === undefined) break
      this.#drop(e)
    }
  }

  #drop (e: DomainOwner): void {
    this.#reserved.delete(e.domain)
    if (this.#owners.get(e.domain) === e) this.#owners.delete(e.domain)
  }
  /** Group name → the domains and user its members serve, and how many routes use it. */
  readonly #groups = new Map<string, { signature: string, routes: number }>()

  get size (): number {
    let n = 0
    for (const m of this.#domains.values()) n += m.size
    return n
  }

  /** The route for a CONNECT host and its Proxy-Authorization user, or undefined (404). */
  lookup (host: string, user: string | undefined): TcpmuxRoute | undefined {
    for (const candidate of lookupOrder(host)) {
      const byUser = this.#domains.get(candidate)
      if (byUser === undefined) continue
      const hit = (user === undefined || user === '' ? undefined : byUser.get(user)) ?? byUser.get('')
      if (hit !== undefined) return hit
    }
    return undefined
  }

  /**
   * Adds `member` to the route of every domain of `claim` (made when missing); throws
   * TUN_VHOST_CONFLICT, TUN_GROUP_MISMATCH or TUN_GROUP_KEY and changes nothing then.
   */
  claim (claim: TcpmuxClaim, member: TcpmuxMember): TcpmuxRoute[] {
    const signature = JSON.stringify([[...claim.domains].sort(), claim.routeByHTTPUser])
    const owner = claim.group === undefined ? claim.identity : groupOwner(claim.group, claim.groupKey, claim.identity)
    this.#expire()
    for (const domain of claim.domains) {
      const held = this.#owners.get(domain)
      // A member of a group already on the domain is judged by the group's key (TUN_GROUP_KEY) below.
      const sameGroup = claim.group !== undefined && [...(this.#domains.get(domain)?.values() ?? [])].some((r) => r.group?.name === claim.group)
      if (held !== undefined && held.owner !== owner && !sameGroup) {
        throw new TunnelError('TUN_DOMAIN_OWNED', `tcpmux domain ${domain} belongs to another client or group (or is reserved for it while it reconnects); a domain has one owner, and only it can add routes to it`)
      }
    }
    if (claim.group !== undefined) {
      const g = this.#groups.get(claim.group)
      if (g !== undefined && g.signature !== signature) throw new TunnelError('TUN_GROUP_MISMATCH', `group ${claim.group} serves other domains or another routeByHTTPUser on the tcpmux port: members of a group share them`)
    }
    for (const domain of claim.domains) {
      const held = this.#domains.get(domain)?.get(claim.routeByHTTPUser)
      if (held === undefined) continue
      const where = `tcpmux ${domain}${claim.routeByHTTPUser === '' ? '' : ` (routeByHTTPUser ${claim.routeByHTTPUser})`}`
      if (held.group === undefined || claim.group === undefined || held.group.name !== claim.group) {
        throw new TunnelError('TUN_VHOST_CONFLICT', `${where} is already served by proxy ${held.members.members()[0]?.name ?? '?'}${held.group === undefined ? '' : ` (group ${held.group.name})`}; each domain and user can have one owner (or one group)`)
      }
      const refusal = groupRefusal(held.group, claim.groupKey, claim.identity)
      if (refusal !== undefined) throw new TunnelError('TUN_GROUP_KEY', refusal)
      if (!held.sameAuth(claim)) throw new TunnelError('TUN_GROUP_MISMATCH', `group ${claim.group} asks ${where} visitors for other credentials (httpUser, httpPassword): members of a group share them`)
    }
    const routes: TcpmuxRoute[] = []
    for (const domain of claim.domains) {
      this.#reserved.delete(domain)
      this.#owners.set(domain, { domain, owner, reservedUntil: 0 })
      let byUser = this.#domains.get(domain)
      if (byUser === undefined) {
        byUser = new Map()
        this.#domains.set(domain, byUser)
      }
      let route = byUser.get(claim.routeByHTTPUser)
      if (route === undefined) {
        route = new TcpmuxRoute(domain, claim)
        byUser.set(claim.routeByHTTPUser, route)
        if (claim.group !== undefined) {
          const g = this.#groups.get(claim.group) ?? { signature, routes: 0 }
          g.routes++
          this.#groups.set(claim.group, g)
        }
      }
      route.members.add(member)
      routes.push(route)
    }
    return routes
  }

  /**
   * Takes `member` out of `routes`; a route left without members goes. A domain left without
   * routes is free at once, or with `reserve` (the owner's session ended) kept for its owner for
   * the grace period.
   */
  release (routes: readonly TcpmuxRoute[], member: TcpmuxMember, reserve = false): void {
    for (const route of routes) {
      route.members.remove(member)
      if (route.members.size > 0) continue
      const byUser = this.#domains.get(route.domain)
      if (byUser?.get(route.user) !== route) continue
      byUser.delete(route.user)
      if (byUser.size === 0) {
        this.#domains.delete(route.domain)
        const o = this.#owners.get(route.domain)
        if (o !== undefined && reserve && this.#ownership.graceMs > 0) {
          o.reservedUntil = this.#ownership.now() + this.#ownership.graceMs
          this.#reserved.add(o)
        } else {
          this.#owners.delete(route.domain)
        }
      }
      if (route.group === undefined) continue
      const g = this.#groups.get(route.group.name)
      if (g !== undefined && --g.routes <= 0) this.#groups.delete(route.group.name)
    }
    this.#expire()
  }
}
