// The routing table of a vhost port: domain (exact, `*.suffix` or the catch-all `*`) and location
// (path prefix) → the proxy that serves them. A lookup tries the host itself, then its wildcard
// parents, then `*` (host.ts lookupOrder); within a domain the longest location that is a prefix
// of the path wins; a domain whose locations all miss falls through to the next candidate, as
// in frp.
//
// Users (frp's routeByHTTPUser, http only): a route may serve one user alone. At each candidate
// domain the routes of the request's user are tried first, then those for any user (user ''),
// as in frp; one (domain, location, user) has one proxy. Users do not split ownership: every
// route of a domain, whatever its user, is its owner's (another client could otherwise take a
// user's requests, credentials included, off a domain it does not own).
//
// Ownership: a domain has one owner (the client identity its control session names). Another
// owner cannot add locations to it, and one (domain, location) has one proxy: a second claim is
// refused, not queued. When an owner's routes go with its session (not by an unregister), the
// domain stays reserved for it for a grace period, so its reconnect gets it back and nobody
// else can take it meanwhile. A wildcard does not own the names under it: a more specific name
// of another owner wins for that name, as in frp.
//
// Guarded routes (a proxy with credentials or a source filter) also take the paths whose loose
// form falls under their location (shared/http/path.ts loosePath): `/ADMIN/`, `/admin;x/` and
// `/x/..\admin/` go to a guarded `/admin/`, whose checks then apply, instead of reaching an
// unguarded `/` whose backend would read them as `/admin/`.
//
// Cost: every operation is O(1) map work plus a binary-search insert or removal in one domain's
// location list (longest first); releasing a proxy touches only its own routes, which it
// remembers. Expired reservations are dropped oldest first as claims and releases go by; beyond
// MAX_RESERVED_DOMAINS the owner holding the most loses its oldest (reservations.ts). Pure; the
// clock is injected.
import { lookupOrder, locationMatches, looseLocation } from '../../shared/http/index.js'
import { Reservations } from './reservations.js'

/** Domains held in reserve for owners whose session ended, at most; beyond it the owner holding the most loses its oldest. */
export const MAX_RESERVED_DOMAINS = 65_536

export interface Route<T> {
  readonly domain: string
  readonly location: string
  readonly target: T
  /** The location in loose form, when the route is guarded; undefined otherwise. */
  readonly loose: string | undefined
  /** The only user it serves (routeByHTTPUser); '' = any user. */
  readonly user: string
}

/** A route's key within its domain: its location, and its user when it has one. */
function slot (location: string, user: string): string {
  return user === '' ? location : `${location}\u0000${user}`
}

export type ClaimResult<T> =
  | { ok: true }
  /** Another owner holds (or has reserved) the domain. */
  | { ok: false, reason: 'owned', domain: string }
  /** The owner's other proxy holds this (domain, location). */
  | { ok: false, reason: 'conflict', domain: string, location: string, holder: T }

export interface RouterOptions {
  /** How long a domain stays reserved for its owner after the owner's session ended; 0 = not at all. */
  graceMs?: number
  /** Milliseconds (tests inject a clock). */
  now?: () => number
  /** Reserved domains at most (default MAX_RESERVED_DOMAINS). */
  maxReserved?: number
}

interface DomainEntry<T> {
  readonly domain: string
  readonly owner: string
  /** By slot(location, user). */
  readonly byLocation: Map<string, Route<T>>
  /** The same routes, longest location first (ties by location, then user, so every route has one place). */
  readonly ordered: Array<Route<T>>
  /** While it has no routes: reserved for its owner until then (ms); 0 otherwise. */
  reservedUntil: number
}

/** Longest first, then by the string: a total order on a domain's locations. */
function before (a: string, b: string): number {
  if (a.length !== b.length) return b.length - a.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** Locations as above, then users: a total order on a domain's routes. */
function routeBefore (location: string, user: string, other: { location: string, user: string }): number {
  const byLocation = before(other.location, location)
  if (byLocation !== 0) return byLocation
  return other.user < user ? -1 : other.user > user ? 1 : 0
}

/** The index of the first route that does not sort before (`location`, `user`). */
function position<T> (list: ReadonlyArray<Route<T>>, location: string, user: string): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (routeBefore(location, user, list[mid] as Route<T>) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class VhostRouter<T> {
  readonly #domains = new Map<string, DomainEntry<T>>()
  /** Each target's routes, so a release touches nothing else. */
  readonly #byTarget = new Map<T, Array<Route<T>>>()
  /** Domains without routes kept for their owner. */
  readonly #reserved = new Reservations<DomainEntry<T>>()
  readonly #graceMs: number
  readonly #now: () => number
  readonly #maxReserved: number
  #routes = 0

  constructor (options: RouterOptions = {}) {
    this.#graceMs = options.graceMs ?? 0
    this.#now = options.now ?? Date.now
    this.#maxReserved = options.maxReserved ?? MAX_RESERVED_DOMAINS
  }

  /** Routes in the table. */
  get size (): number { return this.#routes }

  /** Domains that have routes or are reserved. */
  get domainCount (): number { return this.#domains.size }

  /** Domains reserved for an owner whose session ended (not yet expired or dropped). */
  get reservedCount (): number {
    this.#expire()
    return this.#reserved.size
  }

  /** Who owns `domain` now (with routes, or within its reservation); undefined when it is free. */
  ownerOf (domain: string): string | undefined {
    return this.#live(domain)?.owner
  }

  /**
   * Claims every (domain, location) for `target` of `owner`, or none of them: refused when
   * another owner holds one of the domains, or another target of this owner one of the pairs.
   * Claiming what `target` already holds again changes nothing.
   */
  claim (domains: readonly string[], locations: readonly string[], target: T, owner: string, guarded = false, user = ''): ClaimResult<T> {
    this.#expire()
    for (const domain of domains) {
      const entry = this.#live(domain)
      if (entry === undefined) continue
      if (entry.owner !== owner) return { ok: false, reason: 'owned', domain }
      for (const location of locations) {
        const held = entry.byLocation.get(slot(location, user))
        if (held !== undefined && held.target !== target) return { ok: false, reason: 'conflict', domain, location, holder: held.target }
      }
    }
    const mine = this.#byTarget.get(target) ?? []
    for (const domain of domains) {
      let entry = this.#live(domain)
      if (entry === undefined) {
        entry = { domain, owner, byLocation: new Map(), ordered: [], reservedUntil: 0 }
        this.#domains.set(domain, entry)
      } else if (entry.reservedUntil !== 0) {
        entry.reservedUntil = 0
        this.#reserved.delete(domain)
      }
      for (const location of locations) {
        const key = slot(location, user)
        if (entry.byLocation.has(key)) continue
        const route: Route<T> = { domain, location, target, loose: guarded ? looseLocation(location) : undefined, user }
        entry.byLocation.set(key, route)
        entry.ordered.splice(position(entry.ordered, location, user), 0, route)
        mine.push(route)
        this.#routes++
      }
    }
    if (mine.length > 0) this.#byTarget.set(target, mine)
    return { ok: true }
  }

  /**
   * Drops every route of `target`. A domain left without routes is free at once, or with
   * `reserve` (the owner's session ended; it did not give the proxy up) kept for its owner for
   * the grace period.
   */
  release (target: T, reserve = false): void {
    const mine = this.#byTarget.get(target)
    if (mine === undefined) return
    this.#byTarget.delete(target)
    for (const route of mine) {
      const entry = this.#domains.get(route.domain)
      const key = slot(route.location, route.user)
      if (entry?.byLocation.get(key) !== route) continue
      entry.byLocation.delete(key)
      entry.ordered.splice(position(entry.ordered, route.location, route.user), 1)
      this.#routes--
      if (entry.byLocation.size > 0) continue
      if (reserve && this.#graceMs > 0) {
        entry.reservedUntil = this.#now() + this.#graceMs
        this.#reserved.add(entry)
      } else {
        this.#domains.delete(entry.domain)
      }
    }
    this.#expire()
  }

  /**
   * The route for a normalised host and a routing path, or undefined (404). `loose`, the path's
   * loose form, is matched against guarded routes too. `user` (the request's basic-auth user, ''
   * without one) picks that user's routes first at each candidate domain, then those for any user.
   */
  lookup (host: string, path: string, loose?: string | (() => string | undefined), user = ''): Route<T> | undefined {
    // The loose form is worked out only when a guarded route is there to compare it with.
    let looseForm: string | undefined
    let worked = typeof loose !== 'function'
    if (worked) looseForm = loose as string | undefined
    const looseOf = (): string | undefined => {
      if (!worked) { looseForm = (loose as () => string | undefined)(); worked = true }
      return looseForm
    }
    const at = (candidate: string): Route<T> | undefined => {
      const list = this.#domains.get(candidate)?.ordered
      if (list === undefined) return undefined
      if (user !== '') {
        const mine = match(list, path, looseOf, user)
        if (mine !== undefined) return mine
      }
      return match(list, path, looseOf, '')
    }
    // Most requests name a host that has routes of its own: its wildcard parents are listed only when it does not.
    const own = at(host)
    if (own !== undefined) return own
    const order = lookupOrder(host)
    for (let i = 1; i < order.length; i++) {
      const hit = at(order[i] as string)
      if (hit !== undefined) return hit
    }
    return undefined
  }

  /** The entry of `domain` unless it is a reservation that has run out (then it is dropped). */
  #live (domain: string): DomainEntry<T> | undefined {
    const entry = this.#domains.get(domain)
    if (entry === undefined || entry.reservedUntil === 0 || entry.reservedUntil > this.#now()) return entry
    this.#drop(entry)
    return undefined
  }

  /** Drops reservations that ran out, and beyond the cap the heaviest owner's oldest. */
  #expire (): void {
    const now = this.#now()
    for (let e = this.#reserved.expiredAt(now); e !== undefined; e = this.#reserved.expiredAt(now)) this.#drop(e)
    while (this.#reserved.size > this.#maxReserved) {
      const e = this.#reserved.heaviest()
      if (e === undefined) break
      this.#drop(e)
    }
  }

  #drop (entry: DomainEntry<T>): void {
    this.#reserved.delete(entry.domain)
    if (this.#domains.get(entry.domain) === entry) this.#domains.delete(entry.domain)
  }
}

/** The first route of `user` in `list` (longest location first) that takes the path. */
function match<T> (list: ReadonlyArray<Route<T>>, path: string, loose: () => string | undefined, user: string): Route<T> | undefined {
  for (const r of list) {
    if (r.user !== user) continue
    if (locationMatches(r.location, path)) return r
    if (r.loose !== undefined) {
      const l = loose()
      if (l !== undefined && locationMatches(r.loose, l)) return r
    }
  }
  return undefined
}
