// Domains kept for owners whose session ended (router.ts), bounded: when there are too many, the
// owner holding the most reservations loses its oldest one, so a tenant that churns sessions to
// pile up reservations evicts its own long before an owner with a few domains loses one (the
// handshake gate drops from the busiest source for the same reason). Every operation is O(1):
// domains in expiry order (the grace is one constant, so insertion order), each owner's domains
// in their order, and owners bucketed by how many they hold.

export interface Reservation {
  readonly domain: string
  readonly owner: string
  /** Milliseconds (the router's clock) when it runs out. */
  reservedUntil: number
}

export class Reservations<E extends Reservation> {
  /** Oldest (soonest to run out) first. */
  readonly #byDomain = new Map<string, E>()
  readonly #byOwner = new Map<string, Map<string, E>>()
  /** Reservation count → the owners holding that many. */
  readonly #buckets = new Map<number, Set<string>>()
  #heaviest = 0

  get size (): number { return this.#byDomain.size }

  has (domain: string): boolean { return this.#byDomain.has(domain) }

  add (e: E): void {
    this.delete(e.domain)
    this.#byDomain.set(e.domain, e)
    let mine = this.#byOwner.get(e.owner)
    if (mine === undefined) {
      mine = new Map()
      this.#byOwner.set(e.owner, mine)
    }
    this.#move(e.owner, mine.size, mine.size + 1)
    mine.set(e.domain, e)
  }

  delete (domain: string): E | undefined {
    const e = this.#byDomain.get(domain)
    if (e === undefined) return undefined
    this.#byDomain.delete(domain)
    const mine = this.#byOwner.get(e.owner)
    if (mine !== undefined) {
      this.#move(e.owner, mine.size, mine.size - 1)
      mine.delete(domain)
      if (mine.size === 0) this.#byOwner.delete(e.owner)
    }
    return e
  }

  /** The oldest reservation, if it has run out by `now`. */
  expiredAt (now: number): E | undefined {
    const first = this.#byDomain.values().next()
    return first.done === true || first.value.reservedUntil > now ? undefined : first.value
  }

  /** The oldest reservation of the owner holding the most. */
  heaviest (): E | undefined {
    const owner = this.#buckets.get(this.#heaviest)?.values().next().value
    if (owner === undefined) return undefined
    return this.#byOwner.get(owner)?.values().next().value
  }

  #move (owner: string, from: number, to: number): void {
    if (from > 0) {
      const set = this.#buckets.get(from)
      set?.delete(owner)
      if (set?.size === 0) this.#buckets.delete(from)
    }
    if (to > 0) {
      let set = this.#buckets.get(to)
      if (set === undefined) {
        set = new Set()
        this.#buckets.set(to, set)
      }
      set.add(owner)
    }
    if (to > this.#heaviest) this.#heaviest = to
    // Counts move by one: the heaviest is at most one lower when its bucket emptied.
    while (this.#heaviest > 0 && !this.#buckets.has(this.#heaviest)) this.#heaviest--
  }
}
