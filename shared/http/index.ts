// The public face of shared/http/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { isHeaderName, isHeaderValue } from './headers.js'
export { hostFromHeader, isSubdomainLabel, lookupOrder, normalizeDomain, normalizeHostName } from './host.js'
export { locationMatches, looseLocation, loosePath, normalizeLocation, routingPath } from './path.js'
