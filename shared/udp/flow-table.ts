// The table of UDP flows on one side of one proxy (pure: the clock is passed in). A Map kept in
// least-recently-used order: a flow moves to the back whenever a datagram crosses it in either
// direction, so idle flows gather at the front and expiry never scans active ones. At the cap a
// new flow may evict an old one (which ones is the caller's policy); flow ids are allocated here.
//
// With `sourceOf` the table also groups flows by source (the relay: an IPv4 address or an IPv6
// /64), each group in its own LRU order, so that one source cannot hold the table (issue 22,
// finding 11): a source holds at most `maxPerSource` flows (a new one replaces its own least
// recently used flow if the policy or idleness allows, else it is refused), and a full table makes
// room under pressure for a newcomer: a flow the policy allows (one that never got a reply),
// else the least recently used flow if it has been idle for `pressureIdleMs`, else the least
// recently used flow of the source holding the most, when that source holds at least two more
// than the newcomer's (so two sources never take turns evicting each other).

export interface FlowEntry {
  /** Clock time (ms) of the last datagram in either direction. */
  lastSeen: number
}

export interface FlowTableOptions<F> {
  /** Flows at most; a new one beyond this must evict one or be refused. */
  maxFlows: number
  /** A flow with no datagram for this long expires. */
  idleMs: number
  /** The source a flow counts against; absent = no per-source caps or fairness. */
  sourceOf?: (flow: F) => string
  /** Flows one source may hold; 0 or absent = no cap of its own (needs sourceOf). */
  maxPerSource?: number
  /** Under pressure (the table or a source at its cap) a flow idle this long may be evicted; absent = never for idleness. */
  pressureIdleMs?: number
}

/** How many flows from the LRU end a new flow looks at for one it may evict. */
export const EVICT_SCAN_LIMIT = 64

/** What add() did: `sourceFull` when the flow was refused because its source holds its cap. */
export interface AddResult<F> {
  added: boolean
  evicted: F | undefined
  sourceFull?: true
}

export class FlowTable<K, F extends FlowEntry> {
  readonly #map = new Map<K, F>()
  readonly maxFlows: number
  readonly idleMs: number
  readonly maxPerSource: number
  readonly #sourceOf: ((flow: F) => string) | undefined
  readonly #pressureIdleMs: number
  /** Per source, its flows in LRU order (only with sourceOf). */
  readonly #bySource = new Map<string, Map<K, F>>()
  /** Sources by how many flows they hold, and the most any holds: the busiest in O(1). */
  readonly #sourcesByCount = new Map<number, Set<string>>()
  #maxCount = 0
  /** The most recently touched key: touching it again needs no reordering. */
  #newest: K | undefined

  constructor (options: FlowTableOptions<F>) {
    this.maxFlows = options.maxFlows
    this.idleMs = options.idleMs
    this.#sourceOf = options.sourceOf
    this.maxPerSource = options.maxPerSource ?? 0
    this.#pressureIdleMs = options.pressureIdleMs ?? Infinity
  }

  get size (): number { return this.#map.size }
  get full (): boolean { return this.#map.size >= this.maxFlows }
  /** Sources holding a flow now (0 without sourceOf). */
  get sources (): number { return this.#bySource.size }

  get (key: K): F | undefined { return this.#map.get(key) }

  /** Flows `source` holds now. */
  countOf (source: string): number { return this.#bySource.get(source)?.size ?? 0 }

  /** Oldest first. */
  values (): IterableIterator<F> { return this.#map.values() }

  /** A datagram crossed the flow at `now`: it becomes the most recently used. */
  touch (key: K, flow: F, now: number): void {
    flow.lastSeen = now
    if (this.#newest === key) return
    this.#map.delete(key)
    this.#map.set(key, flow)
    if (this.#sourceOf !== undefined) {
      const group = this.#bySource.get(this.#sourceOf(flow))
      if (group !== undefined && group.delete(key)) group.set(key, flow)
    }
    this.#newest = key
  }

  /**
   * Adds a flow, making room as the header says when its source or the table is at its cap;
   * `evictable` is the caller's policy (which flows are not worth keeping). When no flow may
   * go, the new one is not added (`added: false`, with `sourceFull` when its source's cap was it).
   */
  add (key: K, flow: F, now: number, evictable: (flow: F) => boolean = () => true): AddResult<F> {
    const source = this.#sourceOf?.(flow)
    let victim: [K, F] | undefined
    if (source !== undefined && this.maxPerSource > 0 && this.countOf(source) >= this.maxPerSource) {
      victim = this.#ownVictim(source, now, evictable)
      if (victim === undefined) return { added: false, evicted: undefined, sourceFull: true }
    } else if (this.#map.size >= this.maxFlows) {
      victim = this.#findVictim(source, now, evictable)
      if (victim === undefined) return { added: false, evicted: undefined }
    }
    if (victim !== undefined) this.delete(victim[0])
    flow.lastSeen = now
    this.#map.set(key, flow)
    if (source !== undefined) this.#join(source, key, flow)
    this.#newest = key
    return { added: true, evicted: victim?.[1] }
  }

  /** The source's own least recently used flow, if the policy or its idleness lets it go. */
  #ownVictim (source: string, now: number, evictable: (flow: F) => boolean): [K, F] | undefined {
    let n = 0
    for (const entry of this.#bySource.get(source) ?? []) {
      if (evictable(entry[1]) || now - entry[1].lastSeen >= this.#pressureIdleMs) return entry
      if (++n >= EVICT_SCAN_LIMIT) break
    }
    return undefined
  }

  #findVictim (source: string | undefined, now: number, evictable: (flow: F) => boolean): [K, F] | undefined {
    let n = 0
    for (const entry of this.#map) {
      if (evictable(entry[1])) return entry
      if (++n >= EVICT_SCAN_LIMIT) break
    }
    const oldest = this.#map.entries().next()
    if (oldest.done !== true && now - oldest.value[1].lastSeen >= this.#pressureIdleMs) return oldest.value
    if (source === undefined) return undefined
    const busiest = this.#sourcesByCount.get(this.#maxCount)?.values().next()
    if (busiest === undefined || busiest.done === true) return undefined
    if (this.#maxCount < this.countOf(source) + 2) return undefined
    const lru = this.#bySource.get(busiest.value)?.entries().next()
    return lru === undefined || lru.done === true ? undefined : lru.value
  }

  delete (key: K): boolean {
    if (this.#newest === key) this.#newest = undefined
    const flow = this.#map.get(key)
    if (flow === undefined) return false
    this.#map.delete(key)
    if (this.#sourceOf !== undefined) this.#leave(this.#sourceOf(flow), key)
    return true
  }

  /** Removes every flow idle for `idleMs` or more at `now`, oldest first; returns them. */
  expire (now: number): Array<[K, F]> {
    const out: Array<[K, F]> = []
    for (const entry of this.#map) {
      if (now - entry[1].lastSeen < this.idleMs) break
      out.push(entry)
    }
    for (const [key] of out) this.delete(key)
    return out
  }

  /** Removes and returns every flow. */
  clear (): Array<[K, F]> {
    const out = [...this.#map]
    this.#map.clear()
    this.#bySource.clear()
    this.#sourcesByCount.clear()
    this.#maxCount = 0
    this.#newest = undefined
    return out
  }

  #join (source: string, key: K, flow: F): void {
    let group = this.#bySource.get(source)
    if (group === undefined) {
      group = new Map()
      this.#bySource.set(source, group)
    }
    const before = group.size
    group.set(key, flow)
    this.#recount(source, before, group.size)
  }

  #leave (source: string, key: K): void {
    const group = this.#bySource.get(source)
    if (group === undefined) return
    const before = group.size
    if (!group.delete(key)) return
    if (group.size === 0) this.#bySource.delete(source)
    this.#recount(source, before, group.size)
  }

  /** Moves `source` from the count bucket `before` to `after` (counts change by one). */
  #recount (source: string, before: number, after: number): void {
    if (before > 0) {
      const set = this.#sourcesByCount.get(before)
      set?.delete(source)
      if (set !== undefined && set.size === 0) this.#sourcesByCount.delete(before)
    }
    if (after > 0) {
      let set = this.#sourcesByCount.get(after)
      if (set === undefined) {
        set = new Set()
        this.#sourcesByCount.set(after, set)
      }
      set.add(source)
    }
    if (after > this.#maxCount) this.#maxCount = after
    else if (before === this.#maxCount && !this.#sourcesByCount.has(before)) this.#maxCount = after
  }
}

/** Largest flow id (ids are u32; 0 is the session's). */
export const MAX_FLOW_ID = 0xffffffff

/**
 * The next free flow id after `last` with the parity of the side that opens flows (relay even,
 * client odd, as for streams), wrapping around and skipping ids in use. Throws when a whole
 * lap finds none free, which the flow caps make impossible in practice.
 */
export function nextFlowId (last: number, side: 'server' | 'client', inUse: (id: number) => boolean, maxAttempts = 1 << 20): number {
  const first = side === 'server' ? 2 : 1
  let id = last
  for (let i = 0; i < maxAttempts; i++) {
    id = id + 2 > MAX_FLOW_ID || id < first ? first : id + 2
    if (!inUse(id)) return id
  }
  throw new RangeError(`no free flow id after ${maxAttempts} attempts`)
}
