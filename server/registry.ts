// Who holds what on the relay: client id → active control session, proxy name → owner.
// A newer session of the same client id and the same client key replaces the old one at once
// (no "port already in use" after a reconnect): the old one releases its listeners before the new
// one registers. When a session ends, its proxy names stay reserved for its key for the
// ownership grace, so nobody else takes them before it reconnects.
import { Reservations } from './reservations.js'

export interface RegistryMember {
  readonly clientId: string
  /** Who the client is (its key): only a member of the same identity may replace another. */
  readonly identity: string
  readonly keyId: string
  /** Close listeners and the session because a newer session took over. */
  replaceBy (newer: RegistryMember): void
}

export class Registry<M extends RegistryMember> {
  readonly #clients = new Map<string, M>()
  readonly #proxies = new Map<string, M>()
  /** The names each member holds, so a session's end touches only its own. */
  readonly #held = new Map<M, Set<string>>()
  readonly #reserved: Reservations<string>
  readonly #reservedIds: Reservations<string>

  /** `graceMs`: how long a name (and a clientID) stays reserved for its owner after its session ends. */
  constructor (graceMs = 0, now?: () => number) {
    this.#reserved = new Reservations(graceMs, now)
    this.#reservedIds = new Reservations(graceMs, now)
  }

  /** Milliseconds `clientId` stays reserved for the key that held it, when `identity` is another (0 = free). */
  clientIdReservedFor (clientId: string, identity: string): number {
    return this.#reservedIds.blockedFor(clientId, identity)
  }

  get size (): number { return this.#clients.size }

  /** The live session of `clientId`, if any. */
  holder (clientId: string): M | undefined { return this.#clients.get(clientId) }
  sessions (): IterableIterator<M> { return this.#clients.values() }

  /** Makes `member` the active session of its client id; returns the one it replaced. */
  activate (member: M): M | undefined {
    this.#reservedIds.clear(member.clientId)
    const old = this.#clients.get(member.clientId)
    this.#clients.set(member.clientId, member)
    if (old !== undefined && old !== member) {
      this.releaseAll(old)
      old.replaceBy(member)
    }
    return old
  }

  /**
   * The session ended: its names are free, but (`reserve`, the default: it crashed or lost its
   * link) reserved for its key a while. A client that said goodbye frees them outright.
   */
  remove (member: M, reserve = true): void {
    if (this.#clients.get(member.clientId) === member) {
      this.#clients.delete(member.clientId)
      if (reserve) this.#reservedIds.reserve(member.clientId, member.identity)
    }
    for (const name of this.#held.get(member) ?? []) {
      this.#proxies.delete(name)
      if (reserve) this.#reserved.reserve(name, member.identity)
    }
    this.#held.delete(member)
  }

  /**
   * Claims a proxy name: true, or why not: another live session holds it, or it is reserved for
   * another key (ms left of the grace).
   */
  claimProxy (name: string, member: M): true | 'held' | { reservedMs: number } {
    const owner = this.#proxies.get(name)
    if (owner !== undefined && owner !== member) return 'held'
    const reservedMs = this.#reserved.blockedFor(name, member.identity)
    if (reservedMs > 0) return { reservedMs }
    this.#reserved.clear(name)
    this.#proxies.set(name, member)
    let mine = this.#held.get(member)
    if (mine === undefined) this.#held.set(member, mine = new Set())
    mine.add(name)
    return true
  }

  releaseProxy (name: string, member: M): void {
    if (this.#proxies.get(name) !== member) return
    this.#proxies.delete(name)
    this.#held.get(member)?.delete(name)
  }

  releaseAll (member: M): void {
    for (const name of this.#held.get(member) ?? []) this.#proxies.delete(name)
    this.#held.delete(member)
  }
}
