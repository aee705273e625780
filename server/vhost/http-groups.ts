// Load-balancing groups of http proxies (frp's loadBalancer.group on http): the proxies of one
// group, of one client or several, serve the same domains and locations. The first member claims
// them in the vhost router with one route whose upstream (GroupUpstream) opens each new stream
// to the next healthy member in turn; the route's other settings (basic auth, header rewrites,
// source filter) are the first member's, as in frp. Later members join with the group's key
// (constant-time compare) when their domains and locations are the group's. Keep-alive streams
// stay with the member that opened them; those of a member that leaves or turns unhealthy are
// closed when idle and never pooled again. The route goes when the last member leaves.
import type { ClientRequestArgs } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { TunnelError } from '../../shared/errors.js'
import type { Session } from '../../shared/mux/index.js'
import type { Endpoint, HttpProxySpec } from '../../shared/wire/index.js'
import { groupKeyDigest, groupOwner, groupRefusal, RoundRobin, type GroupMember } from '../group/index.js'
import { StreamTally } from '../stream-tally.js'
import type { VhostRouter } from './router.js'
import { Upstream, type UpstreamTarget } from './upstream.js'
import type { HttpRoute } from './vhost-route.js'

export interface HttpGroupMember extends GroupMember {
  readonly session: Session
  readonly tally: StreamTally
  /** Its streams that are open now (pooled or busy). */
  readonly streams: Set<Duplex>
  /** Gone from the group: its streams are not pooled any more. */
  left: boolean
}

/** The member a request was given (set on the request's agent options by getName). */
const PICKED = Symbol('tunnel.groupMember')
type PickOptions = ClientRequestArgs & { [PICKED]?: HttpGroupMember | null }

/**
 * Gives each request the next healthy member in turn, and keeps each member's idle streams in a
 * pool of its own (the agent pools by getName, which names the member), so keep-alive reuses a
 * stream of the member a request was given and the turns hold for every request, not only for
 * those that need a new stream.
 */
export class GroupUpstream extends Upstream {
  readonly members = new RoundRobin<HttpGroupMember>()
  readonly #owners = new WeakMap<Duplex, HttpGroupMember>()

  constructor (first: Session, name: string, listener: Endpoint) {
    super(first, name, listener)
  }

  // The agent asks once when the request arrives and again for a new stream, on a copy of the
  // same options: the member is picked once and carried along.
  override getName (options?: PickOptions): string {
    const base = super.getName(options)
    if (options === undefined) return base
    let m = options[PICKED]
    if (m === undefined) {
      m = this.members.pick() ?? null
      options[PICKED] = m
    }
    return `${base}:${m === null ? '' : m.name}`
  }

  protected override target (options: PickOptions): UpstreamTarget | undefined {
    const m = options[PICKED]
    if (m === undefined || m === null || m.left || !m.healthy) return undefined
    return {
      session: m.session,
      proxy: m.name,
      tally: m.tally,
      opened: (duplex) => {
        this.#owners.set(duplex, m)
        m.streams.add(duplex)
        duplex.once('close', () => { m.streams.delete(duplex) })
      },
    }
  }

  override keepSocketAlive (socket: Duplex): boolean {
    const m = this.#owners.get(socket)
    if (m !== undefined && (m.left || !m.healthy)) return false
    return super.keepSocketAlive(socket)
  }

  override poolable (socket: Duplex): boolean {
    const m = this.#owners.get(socket)
    if (m !== undefined && (m.left || !m.healthy)) return false
    return super.poolable(socket)
  }

  /** Closes `member`'s idle streams (it left or turned unhealthy); busy ones finish their request. */
  dropIdleOf (member: HttpGroupMember): void {
    for (const list of Object.values(this.freeSockets)) {
      for (const s of list ?? []) if (this.#owners.get(s) === member) s.destroy()
    }
    this.dropRawIdle((s) => this.#owners.get(s) === member)
    this.dropHeld((s) => this.#owners.get(s) === member)
  }
}

interface HttpGroup {
  name: string
  keyDigest: Buffer
  keyless: boolean
  creator: string
  /** Who the group's domains belong to in the router: the group (with a key) or its creator's identity. */
  owner: string
  /** Sorted domains and locations: every member serves exactly these. */
  signature: string
  route: HttpRoute
  upstream: GroupUpstream
}

/** What the vhosts give a group: where its route goes, and how a route is made from a spec. */
export interface HttpGroupPlace {
  router: VhostRouter<HttpRoute>
  domains: readonly string[]
  locations: readonly string[]
  /** routeByHTTPUser: the only user the group serves; '' = any user. */
  user: string
  listener: Endpoint
  makeRoute: (upstream: Upstream) => HttpRoute
}

/** A member's hold on its group: how it leaves, sets its health, and what status shows. */
export interface HttpGroupTicket {
  member: HttpGroupMember
  route: HttpRoute
  /**
   * The member leaves. The last one releases the group's routes; `reserve` (its session ended)
   * keeps their domains reserved for the group's owner for ownershipGrace.
   */
  leave: (reserve: boolean) => void
  /** Cuts the member's open streams (after it left). */
  cut: () => void
  setHealthy: (healthy: boolean) => void
  view: () => { name: string, members: number, healthy: number }
}

export class HttpGroups {
  readonly #groups = new Map<string, HttpGroup>()
  readonly #log: Logger

  constructor (log: Logger) {
    this.#log = log
  }

  get size (): number { return this.#groups.size }

  /**
   * Joins (or opens) the spec's group; throws TUN_GROUP_MISMATCH, TUN_GROUP_KEY, TUN_DOMAIN_OWNED
   * or TUN_VHOST_CONFLICT. A new group claims its domains as their owner (groupOwner: the group
   * itself when it has a key, else the creator's identity), so it never takes a domain another
   * owner holds or has reserved; a later member only joins the group's route, with the key.
   */
  join (spec: HttpProxySpec & { group: string }, session: Session, identity: string, place: HttpGroupPlace): HttpGroupTicket {
    const key = spec.groupKey ?? ''
    const signature = JSON.stringify([[...place.domains].sort(), [...place.locations].sort(), place.user, spec.proxyProtocol === true])
    let g = this.#groups.get(spec.group)
    if (g !== undefined) {
      if (g.signature !== signature) throw new TunnelError('TUN_GROUP_MISMATCH', `group ${spec.group} serves other domains, locations or routeByHTTPUser, or its members differ in transport.proxyProtocolVersion (set or not): members of a group serve the same ones the same way`)
      const refusal = groupRefusal(g, key, identity)
      if (refusal !== undefined) throw new TunnelError('TUN_GROUP_KEY', refusal)
    } else {
      const upstream = new GroupUpstream(session, spec.name, place.listener)
      const route = place.makeRoute(upstream)
      const owner = groupOwner(spec.group, key, identity)
      const claim = place.router.claim(place.domains, place.locations, route, owner, route.auth !== undefined || route.gate.filters, place.user)
      if (!claim.ok) {
        if (claim.reason === 'owned') {
          throw new TunnelError('TUN_DOMAIN_OWNED', `http domain ${claim.domain} belongs to another client or group (or is reserved for it while it reconnects); a group takes only domains free or its own`)
        }
        const who = claim.holder.session === session ? `proxy ${claim.holder.name} of this client` : 'a proxy of another client'
        throw new TunnelError('TUN_VHOST_CONFLICT', `http ${claim.domain} (location ${claim.location}${place.user === '' ? '' : `, routeByHTTPUser ${place.user}`}) is already served by ${who}; each domain, location and user can have one owner (or one group)`)
      }
      g = { name: spec.group, keyDigest: groupKeyDigest(key), keyless: key === '', creator: identity, owner, signature, route, upstream }
      this.#groups.set(g.name, g)
      this.#log.info({ group: g.name, domains: place.domains }, 'http load-balancing group opened')
    }
    return this.#add(g, spec, session, place.router)
  }

  #add (g: HttpGroup, spec: HttpProxySpec, session: Session, router: VhostRouter<HttpRoute>): HttpGroupTicket {
    const member: HttpGroupMember = { name: spec.name, healthy: spec.healthy !== false, session, tally: new StreamTally(), streams: new Set(), left: false }
    g.upstream.members.add(member)
    this.#log.info({ group: g.name, proxy: spec.name, members: g.upstream.members.size }, 'proxy joined a load-balancing group')
    return {
      member,
      route: g.route,
      leave: (reserve) => {
        if (member.left) return
        member.left = true
        g.upstream.members.remove(member)
        g.upstream.dropIdleOf(member)
        if (g.upstream.members.size > 0) return
        router.release(g.route, reserve)
        g.upstream.closeIdle()
        if (this.#groups.get(g.name) === g) this.#groups.delete(g.name)
        this.#log.info({ group: g.name, picks: g.upstream.members.picks }, 'http load-balancing group closed: its last member left')
      },
      cut: () => {
        for (const s of [...member.streams]) s.destroy()
      },
      setHealthy: (healthy) => {
        member.healthy = healthy
        if (!healthy) g.upstream.dropIdleOf(member)
      },
      view: () => ({ name: g.name, members: g.upstream.members.size, healthy: g.upstream.members.healthyCount }),
    }
  }
}
