// Who holds what on the relay: client id → active control session, proxy name → owner.
// A newer session of the same client id replaces the old one at once (no "port already in
// use" after a reconnect): the old one releases its listeners before the new one registers.

export interface RegistryMember {
  readonly clientId: string
  /** Close listeners and the session because a newer session took over. */
  replaceBy (newer: RegistryMember): void
}

export class Registry<M extends RegistryMember> {
  readonly #clients = new Map<string, M>()
  readonly #proxies = new Map<string, M>()

  get size (): number { return this.#clients.size }
  sessions (): IterableIterator<M> { return this.#clients.values() }

  /** Makes `member` the active session of its client id; returns the one it replaced. */
  activate (member: M): M | undefined {
    const old = this.#clients.get(member.clientId)
    this.#clients.set(member.clientId, member)
    if (old !== undefined && old !== member) {
      this.releaseAll(old)
      old.replaceBy(member)
    }
    return old
  }

  remove (member: M): void {
    if (this.#clients.get(member.clientId) === member) this.#clients.delete(member.clientId)
    this.releaseAll(member)
  }

  /** Claims a proxy name; false when another live session holds it. */
  claimProxy (name: string, member: M): boolean {
    const owner = this.#proxies.get(name)
    if (owner !== undefined && owner !== member) return false
    this.#proxies.set(name, member)
    return true
  }

  releaseProxy (name: string, member: M): void {
    if (this.#proxies.get(name) === member) this.#proxies.delete(name)
  }

  releaseAll (member: M): void {
    for (const [name, owner] of this.#proxies) if (owner === member) this.#proxies.delete(name)
  }
}
