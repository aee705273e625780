// Where a visitor goes when this relay has no session of the owning client: the owner of the
// domain (own/domain/<kind>/<domain>, or the wildcard that covers it) and the relays that serve a
// session of that owner (attach/<owner>/<nodeName>), read from the store and cached. The cache
// is forgotten whenever the store's watch reports a change of a domain's owner, of an owner's
// relays or of the relays themselves, and an entry is forgotten when a forward through it fails.
// An answer of "nobody" is cached for NEGATIVE_ROUTE_MS only (a visitor guessing host names must
// not turn each request into store reads, nor keep a domain unreachable once it is claimed).
import type { OwnedKey } from './keys.js'
import type { OwnershipStore } from './store.js'

/** Routes kept at most (oldest forgotten first). */
export const MAX_ROUTE_CACHE_ENTRIES = 10_000
/** How long "no relay serves this domain" is believed without a watch event. */
export const NEGATIVE_ROUTE_MS = 1_000
/**
 * Store lookups in flight at most: past it a visitor for a name not cached is answered as if
 * nobody served it (a 404), so a flood of made-up host names costs etcd a bounded load.
 */
export const MAX_ROUTE_LOOKUPS = 64
/** Labels of a host name tried as wildcards at most (`*.b.c`, `*.c`, ...). */
const MAX_WILDCARD_LEVELS = 8

interface Entry {
  /** Relays that serve the owner, other than this one, the ones that failed last (empty: none, cached until `until`). */
  nodes: string[]
  until: number
}

export class FleetRoutes {
  readonly #store: OwnershipStore
  readonly #self: string
  readonly #now: () => number
  readonly #cache = new Map<string, Entry>()
  readonly #unwatch: () => void
  /** Store lookups made (cache misses), for status. */
  lookups = 0
  /** Lookups refused because MAX_ROUTE_LOOKUPS were in flight. */
  lookupsShed = 0
  #inFlight = 0

  constructor (store: OwnershipStore, self: string, now: () => number = () => performance.now()) {
    this.#store = store
    this.#self = self
    this.#now = now
    this.#unwatch = store.watchRoutes(() => { this.#cache.clear() })
  }

  /** Relays other than this one that serve the owner of `domain` (kind http or https); [] when none. Throws TUN_FLEET_UNAVAILABLE. */
  async find (kind: 'http' | 'https', domain: string): Promise<string[]> {
    const id = `${kind}/${domain.toLowerCase()}`
    const hit = this.#cache.get(id)
    if (hit !== undefined && (hit.nodes.length > 0 || this.#now() < hit.until)) return hit.nodes
    return await this.#bounded(async () => {
      let identity: string | undefined
      for (const candidate of candidates(domain.toLowerCase())) {
        const key: OwnedKey = { kind: 'domain', id: `${kind}/${candidate}` }
        identity = await this.#store.owner(key)
        if (identity !== undefined) break
      }
      const nodes = identity === undefined ? [] : (await this.#store.servedBy(identity)).filter((n) => n !== this.#self)
      this.#remember(id, nodes)
      return nodes
    })
  }

  /** One store lookup, unless MAX_ROUTE_LOOKUPS are in flight already (then: nobody, not cached). */
  async #bounded (lookup: () => Promise<string[]>): Promise<string[]> {
    if (this.#inFlight >= MAX_ROUTE_LOOKUPS) {
      this.lookupsShed++
      return []
    }
    this.#inFlight++
    this.lookups++
    try {
      return await lookup()
    } finally {
      this.#inFlight--
    }
  }

  /** Relays other than this one that serve the owner of proxy name `name` (a secret proxy's visits go there); [] when none. Throws TUN_FLEET_UNAVAILABLE. */
  async findName (name: string): Promise<string[]> {
    const id = `name/${name}`
    const hit = this.#cache.get(id)
    if (hit !== undefined && (hit.nodes.length > 0 || this.#now() < hit.until)) return hit.nodes
    return await this.#bounded(async () => {
      const identity = await this.#store.owner({ kind: 'name', id: name })
      const nodes = identity === undefined ? [] : (await this.#store.servedBy(identity)).filter((n) => n !== this.#self)
      this.#remember(id, nodes)
      return nodes
    })
  }

  /** A visit to `name` failed on its way: ask the store again next time. */
  failedName (name: string): void {
    this.#cache.delete(`name/${name}`)
  }

  #remember (id: string, nodes: string[]): void {
    if (this.#cache.size >= MAX_ROUTE_CACHE_ENTRIES) {
      const oldest = this.#cache.keys().next()
      if (oldest.done !== true) this.#cache.delete(oldest.value)
    }
    this.#cache.set(id, { nodes, until: this.#now() + NEGATIVE_ROUTE_MS })
  }

  /**
   * A forward through `node` failed but another relay of the route took it: `node` goes last in
   * the cached route (a relay just killed stays in the store until its lease ends; the next
   * visitors should not wait on it first).
   */
  demote (kind: 'http' | 'https' | 'name', id: string, node: string): void {
    const key = kind === 'name' ? `name/${id}` : `${kind}/${id.toLowerCase()}`
    const hit = this.#cache.get(key)
    if (hit === undefined || !hit.nodes.includes(node)) return
    hit.nodes = [...hit.nodes.filter((n) => n !== node), node]
  }

  /** A forward to `node` for `domain` failed: ask the store again next time. */
  failed (kind: 'http' | 'https', domain: string): void {
    this.#cache.delete(`${kind}/${domain.toLowerCase()}`)
  }

  close (): void {
    this.#unwatch()
    this.#cache.clear()
  }
}

/** The domain itself, then the wildcards that would cover it, nearest first. */
function candidates (domain: string): string[] {
  const labels = domain.split('.')
  const out = [domain]
  for (let i = 1; i < labels.length && i <= MAX_WILDCARD_LEVELS; i++) out.push(`*.${labels.slice(i).join('.')}`)
  return out
}
