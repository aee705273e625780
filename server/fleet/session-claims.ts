// What one client session claims in the fleet store, proxy by proxy: each claim either wins (the
// session's client key owns the key fleet-wide) or throws the refusal the caller names
// (TUN_PROXY_EXISTS, TUN_PORT_IN_USE, TUN_DOMAIN_OWNED), or TUN_FLEET_UNAVAILABLE when the store
// does not answer. A proxy that stops without unregistering only drops its count here: the key
// stays its owner's until the owner's lease ends (another relay may serve the same proxy).
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { TunnelError } from '../../shared/errors.js'
import { keyText, type OwnedKey } from './keys.js'
import type { OwnershipStore } from './store.js'

/**
 * The owner of a load-balancing group's port and domains in the fleet: the group name with its
 * groupKey (hashed: the key is a secret), so every member of the group, on any relay and of any
 * client, holds them together, and nobody without the key can take them.
 */
export function groupIdentity (group: string, groupKey: string): string {
  return `group/${createHash('sha256').update(`${group}\0${groupKey}`).digest('base64url')}`
}

export class FleetClaims {
  readonly #store: OwnershipStore
  readonly #identity: string
  readonly #log: Logger
  /** Keys this session holds for a group (not for its own client key), by key text: the group's identity and how many holds. */
  readonly #shared = new Map<string, { identity: string, holds: number }>()

  constructor (store: OwnershipStore, identity: string, log: Logger) {
    this.#store = store
    this.#identity = identity
    this.#log = log
  }

  /** Claims `key` for this session's owner, or throws `refusal()` (taken) or TUN_FLEET_UNAVAILABLE. */
  async claim (key: OwnedKey, refusal: () => TunnelError): Promise<void> {
    if (!await this.#store.claim(key, this.#identity)) throw refusal()
  }

  /**
   * Claims `key` for a load-balancing group (its groupIdentity): this relay keeps the group's
   * lease alive while a member here holds it; another member (same group and key) shares the
   * claim, anyone else is refused with `refusal()`.
   */
  async claimShared (key: OwnedKey, identity: string, refusal: () => TunnelError): Promise<void> {
    await this.#store.attach(identity)
    let won = false
    try {
      won = await this.#store.claim(key, identity)
    } finally {
      if (!won) this.#store.detach(identity, false)
    }
    if (!won) throw refusal()
    const text = keyText(key)
    const held = this.#shared.get(text)
    if (held === undefined) this.#shared.set(text, { identity, holds: 1 })
    else held.holds++
  }

  /** A group's key this session held: this member lets go; the group keeps it while another member (or its lease) does. */
  #letGoShared (key: OwnedKey): boolean {
    const text = keyText(key)
    const held = this.#shared.get(text)
    if (held === undefined) return false
    if (--held.holds === 0) this.#shared.delete(text)
    this.#store.drop(key, held.identity)
    this.#store.detach(held.identity, false)
    return true
  }

  /** The owner gave `key` up (unregister): free in the whole fleet once no proxy of this relay holds it. */
  release (key: OwnedKey): void {
    if (this.#letGoShared(key)) return
    this.#store.release(key, this.#identity).catch((err: unknown) => {
      this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', key: `${key.kind}/${key.id}`, err: err instanceof Error ? err.message : String(err) }, 'fleet: could not free a key in the store; it stays the client\'s until its lease ends')
    })
  }

  /** A proxy holding `key` stopped without giving it up (its session ended, or it failed to open). */
  drop (key: OwnedKey): void {
    if (this.#letGoShared(key)) return
    this.#store.drop(key, this.#identity)
  }
}
