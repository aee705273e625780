// The relay fleet: ownership shared among relays through a store (etcd).
export { EtcdOwnershipStore, FLEET_MIN_OWNER_TTL_S, FLEET_RELAY_TTL_S, MAX_FLEET_KEEPALIVE_MS, type EtcdStoreOptions } from './etcd-store.js'
export { type OwnedKey, type OwnedKind, ownerLeaseId } from './keys.js'
export type { FleetStats, OwnershipStore, RelayRecord } from './store.js'
export { FleetClaims } from './session-claims.js'
