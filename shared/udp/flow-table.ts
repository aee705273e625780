// The table of UDP flows on one side of one proxy (pure: the clock is passed in). A Map kept in
// least-recently-used order: a flow moves to the back whenever a datagram crosses it in either
// direction, so idle flows gather at the front and expiry never scans active ones. At the cap a
// new flow may evict an old one (which ones is the caller's policy); flow ids are allocated here.

export interface FlowEntry {
  /** Clock time (ms) of the last datagram in either direction. */
  lastSeen: number
}

export interface FlowTableOptions {
  /** Flows at most; a new one beyond this must evict one or be refused. */
  maxFlows: number
  /** A flow with no datagram for this long expires. */
  idleMs: number
}

/** How many flows from the LRU end a new flow looks at for one it may evict. */
export const EVICT_SCAN_LIMIT = 64

export class FlowTable<K, F extends FlowEntry> {
  readonly #map = new Map<K, F>()
  readonly maxFlows: number
  readonly idleMs: number
  /** The most recently touched key: touching it again needs no reordering. */
  #newest: K | undefined

  constructor (options: FlowTableOptions) {
    this.maxFlows = options.maxFlows
    this.idleMs = options.idleMs
  }

  get size (): number { return this.#map.size }
  get full (): boolean { return this.#map.size >= this.maxFlows }

  get (key: K): F | undefined { return this.#map.get(key) }

  /** Oldest first. */
  values (): IterableIterator<F> { return this.#map.values() }

  /** A datagram crossed the flow at `now`: it becomes the most recently used. */
  touch (key: K, flow: F, now: number): void {
    flow.lastSeen = now
    if (this.#newest === key) return
    this.#map.delete(key)
    this.#map.set(key, flow)
    this.#newest = key
  }

  /**
   * Adds a flow. At the cap, the least recently used flow among the first EVICT_SCAN_LIMIT that
   * `evictable` accepts is removed to make room and returned as `evicted`; when none is
   * acceptable the new flow is not added (`added: false`).
   */
  add (key: K, flow: F, now: number, evictable: (flow: F) => boolean = () => true): { added: boolean, evicted: F | undefined } {
    let evicted: F | undefined
    if (this.#map.size >= this.maxFlows) {
      const victim = this.#findVictim(evictable)
      if (victim === undefined) return { added: false, evicted: undefined }
      this.#map.delete(victim[0])
      evicted = victim[1]
    }
    flow.lastSeen = now
    this.#map.set(key, flow)
    this.#newest = key
    return { added: true, evicted }
  }

  #findVictim (evictable: (flow: F) => boolean): [K, F] | undefined {
    let n = 0
    for (const entry of this.#map) {
      if (evictable(entry[1])) return entry
      if (++n >= EVICT_SCAN_LIMIT) break
    }
    return undefined
  }

  delete (key: K): boolean {
    if (this.#newest === key) this.#newest = undefined
    return this.#map.delete(key)
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
    this.#newest = undefined
    return out
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
