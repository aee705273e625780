// What one client session claims in the fleet store, proxy by proxy: each claim either wins (the
// session's client key owns the key fleet-wide) or throws the refusal the caller names
// (TUN_PROXY_EXISTS, TUN_PORT_IN_USE, TUN_DOMAIN_OWNED), or TUN_FLEET_UNAVAILABLE when the store
// does not answer. A proxy that stops without unregistering only drops its count here: the key
// stays its owner's until the owner's lease ends (another relay may serve the same proxy).
import type { Logger } from 'pino'
import type { TunnelError } from '../../shared/errors.js'
import type { OwnedKey } from './keys.js'
import type { OwnershipStore } from './store.js'

export class FleetClaims {
  readonly #store: OwnershipStore
  readonly #identity: string
  readonly #log: Logger

  constructor (store: OwnershipStore, identity: string, log: Logger) {
    this.#store = store
    this.#identity = identity
    this.#log = log
  }

  /** Claims `key` for this session's owner, or throws `refusal()` (taken) or TUN_FLEET_UNAVAILABLE. */
  async claim (key: OwnedKey, refusal: () => TunnelError): Promise<void> {
    if (!await this.#store.claim(key, this.#identity)) throw refusal()
  }

  /** The owner gave `key` up (unregister): free in the whole fleet once no proxy of this relay holds it. */
  release (key: OwnedKey): void {
    this.#store.release(key, this.#identity).catch((err: unknown) => {
      this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', key: `${key.kind}/${key.id}`, err: err instanceof Error ? err.message : String(err) }, 'fleet: could not free a key in the store; it stays the client\'s until its lease ends')
    })
  }

  /** A proxy holding `key` stopped without giving it up (its session ended, or it failed to open). */
  drop (key: OwnedKey): void {
    this.#store.drop(key, this.#identity)
  }
}
