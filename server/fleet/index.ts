// The relay fleet: ownership shared among relays through a store (etcd).
export { EtcdOwnershipStore, FLEET_MIN_OWNER_TTL_S, FLEET_RELAY_TTL_S, MAX_FLEET_KEEPALIVE_MS, type EtcdStoreOptions } from './etcd-store.js'
export { type OwnedKey, type OwnedKind, ownerLeaseId } from './keys.js'
export type { FleetStats, OwnershipStore, RelayRecord } from './store.js'
export { FleetClaims, groupIdentity } from './session-claims.js'
export { FleetLinks, ForwardedDuplex, LINK_CLIENT_ID_PREFIX, LINK_DIAL_TIMEOUT_MS, LINK_REDIAL_MS, MAX_LINK_STREAMS, type LinkStats, type LinkTarget } from './links.js'
export { FleetRoutes, MAX_ROUTE_CACHE_ENTRIES, MAX_ROUTE_LOOKUPS, NEGATIVE_ROUTE_MS } from './routes.js'
export { FleetForwarder, MAX_FORWARD_TRIES } from './forwarder.js'
