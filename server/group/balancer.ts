// How a load-balancing group spreads visitors (pure): round-robin over the members that are
// healthy now, in the order they joined. frp's http group also takes turns (its tcp group lets
// the members race for each connection); turns give every healthy member the same share of new
// connections, whatever their speed, and make the spread countable. A member that is taken out
// (unhealthy) or leaves is skipped at once; one that comes back gets its turns again.

export interface GroupMember {
  /** The proxy's wire name. */
  readonly name: string
  /** False while its client's health check fails (or before its first pass). */
  healthy: boolean
}

export class RoundRobin<M extends GroupMember> {
  readonly #members: M[] = []
  #next = 0
  /** Picks so far, and picks that found no healthy member. */
  picks = 0
  misses = 0

  get size (): number { return this.#members.length }
  get healthyCount (): number { return this.#members.reduce((n, m) => n + (m.healthy ? 1 : 0), 0) }
  members (): readonly M[] { return this.#members }
  has (m: M): boolean { return this.#members.includes(m) }

  add (m: M): void {
    if (!this.#members.includes(m)) this.#members.push(m)
  }

  remove (m: M): void {
    const i = this.#members.indexOf(m)
    if (i === -1) return
    this.#members.splice(i, 1)
    if (i < this.#next) this.#next--
    if (this.#next >= this.#members.length) this.#next = 0
  }

  /** The next healthy member in turn, or undefined when none is. O(members). */
  pick (): M | undefined {
    const n = this.#members.length
    for (let tried = 0; tried < n; tried++) {
      const m = this.#members[this.#next % n]
      this.#next = (this.#next + 1) % n
      if (m?.healthy === true) {
        this.picks++
        return m
      }
    }
    this.misses++
    return undefined
  }
}
