// What a fleet relay asks of the store that shares ownership among the relays. One
// implementation talks to etcd (etcd-store.ts); a single relay has no store at all and keeps
// ownership in its own registry (registry.ts, proxy/port-allocator.ts, vhost/reservations.ts).
import type { OwnedKey } from './keys.js'

/** A relay of the fleet as the store knows it (its record lives while the relay does). */
export interface RelayRecord {
  nodeName: string
  advertiseAddr: string
  /** ms since the epoch. */
  startedAt: number
  /** Owners (client keys) with a session on it: how many attach keys it holds. */
  clients: number
  /** The relay's static public key (base64, as auth.serverKey): what its inter-relay links are pinned to and proven with; absent on a relay without auth.privateKey (no links). */
  publicKey?: string
}

/** Counters of a fleet relay's store traffic (plain numbers, for status and metrics). */
export interface FleetStats {
  claims: number
  /** Claims refused because another owner holds the key. */
  conflicts: number
  /** Requests that failed or timed out (TUN_FLEET_UNAVAILABLE). */
  unavailable: number
  /** Owner leases found expired while this relay still served the owner, re-granted. */
  leasesRegranted: number
  /** Keys this relay had to claim again after their lease expired, and those another owner had taken meanwhile. */
  reclaimed: number
  reclaimLost: number
  /** Route watches etcd cancelled (compaction while the relay was away from it), made again. */
  watchesRenewed: number
}

export interface OwnershipStore {
  readonly nodeName: string
  /** Joins the fleet: the relay's lease and record. Throws TUN_FLEET_UNAVAILABLE. */
  start: () => Promise<void>
  /**
   * A session of `identity` lives on this relay: its owner lease exists and this relay keeps it
   * alive (counted: one call per session). Throws TUN_FLEET_UNAVAILABLE.
   */
  attach: (identity: string) => Promise<void>
  /**
   * A session of `identity` ended. When it was the last one here, this relay stops keeping the
   * owner's lease alive: what it owns stays reserved until the lease's TTL passes (unless another
   * relay serves it). `goodbye`: the client left on purpose; if no relay serves it any more, the
   * lease is revoked and everything it owned is free at once.
   */
  detach: (identity: string, goodbye: boolean) => void
  /** Makes `identity` the owner of `key` unless another owner holds it: true, or false (taken). Throws TUN_FLEET_UNAVAILABLE. */
  claim: (key: OwnedKey, identity: string) => Promise<boolean>
  /** Frees `key` if `identity` owns it, once no proxy of this relay holds it (a failure leaves it to the lease). */
  release: (key: OwnedKey, identity: string) => Promise<void>
  /** One proxy of this relay stopped holding `key` without giving it up: it stays the owner's in the store. */
  drop: (key: OwnedKey, identity: string) => void
  /** The fleet's relays now. Throws TUN_FLEET_UNAVAILABLE. */
  relays: () => Promise<RelayRecord[]>
  /** One relay's record (clients 0: not counted here), or undefined when it is not in the fleet. Throws TUN_FLEET_UNAVAILABLE. */
  relay: (nodeName: string) => Promise<RelayRecord | undefined>
  /** The owner (client key) of `key`, or undefined when nobody holds it. Throws TUN_FLEET_UNAVAILABLE. */
  owner: (key: OwnedKey) => Promise<string | undefined>
  /** The relays that serve a session of `identity` now (attach keys). Throws TUN_FLEET_UNAVAILABLE. */
  servedBy: (identity: string) => Promise<string[]>
  /** Calls `changed` whenever a domain's or a proxy name's owner, an owner's relays or the relays change (a watch); returns its stop. */
  watchRoutes: (changed: () => void) => () => void
  readonly stats: FleetStats
  /** Leaves the fleet: the relay's record goes at once (its lease is revoked). */
  close: () => Promise<void>
}
