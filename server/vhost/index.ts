// The public face of server/vhost/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { listedRoutes, resolveDomains } from './spec-check.js'
export { type VhostStats } from './stats.js'
export { type RouterSize, type VhostProxy, Vhosts } from './vhosts.js'
export { MAX_RESERVED_DOMAINS } from './router.js'
export { type Reservation, Reservations } from './reservations.js'
export { type VhostForwarder } from './fleet-forward.js'
