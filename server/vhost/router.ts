// The routing table of a vhost port: domain (exact, `*.suffix` or the catch-all `*`) and location
// (path prefix) → the proxy that serves them. A lookup tries the host itself, then its wildcard
// parents, then `*` (host.ts lookupOrder); within a domain the longest location that is a prefix
// of the path wins; a domain whose locations all miss falls through to the next candidate, as
// in frp. One (domain, location) has one owner: a second claim is refused, not queued. Pure.
import { lookupOrder, locationMatches } from '../../shared/http/index.js'

export interface Route<T> {
  domain: string
  location: string
  target: T
}

export type ClaimResult<T> = { ok: true } | { ok: false, domain: string, location: string, holder: T }

export class VhostRouter<T> {
  /** domain → its routes, longest location first. */
  readonly #domains = new Map<string, Array<Route<T>>>()

  get size (): number {
    let n = 0
    for (const list of this.#domains.values()) n += list.length
    return n
  }

  /** Claims every (domain, location) for `target`, or none of them when one is held by another. */
  claim (domains: readonly string[], locations: readonly string[], target: T): ClaimResult<T> {
    for (const domain of domains) {
      for (const location of locations) {
        const held = this.#find(domain, location)
        if (held !== undefined && held.target !== target) return { ok: false, domain, location, holder: held.target }
      }
    }
    for (const domain of domains) {
      for (const location of locations) {
        if (this.#find(domain, location) !== undefined) continue
        const list = this.#domains.get(domain) ?? []
        list.push({ domain, location, target })
        list.sort((a, b) => b.location.length - a.location.length)
        this.#domains.set(domain, list)
      }
    }
    return { ok: true }
  }

  /** Drops every route of `target`. */
  release (target: T): void {
    for (const [domain, list] of this.#domains) {
      const kept = list.filter((r) => r.target !== target)
      if (kept.length === 0) this.#domains.delete(domain)
      else if (kept.length !== list.length) this.#domains.set(domain, kept)
    }
  }

  /** The route for a normalised host and a routing path, or undefined (404). */
  lookup (host: string, path: string): Route<T> | undefined {
    for (const candidate of lookupOrder(host)) {
      const list = this.#domains.get(candidate)
      if (list === undefined) continue
      const hit = list.find((r) => locationMatches(r.location, path))
      if (hit !== undefined) return hit
    }
    return undefined
  }

  #find (domain: string, location: string): Route<T> | undefined {
    return this.#domains.get(domain)?.find((r) => r.location === location)
  }
}
