// The public face of server/vhost/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { type VhostStats } from './stats.js'
export { type VhostProxy, Vhosts } from './vhosts.js'
export { resolveDomains } from './spec-check.js'
