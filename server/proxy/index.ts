// The relay's proxy layer, for the relay and for anyone adding a proxy type.
export { clientLimits, type FootprintLimits, UserFootprints, userLimits } from './footprint.js'
export { BUILTIN_PROXY_KINDS, ProxyKinds } from './kinds.js'
export { PortAllocator } from './port-allocator.js'
export { candidatePorts, describeRanges, isPortAllowed } from './ports.js'
export {
  defineProxyKind,
  type ProxyContext, type ProxyEndpoint, type ProxyKind, type ProxyMembership, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type SpecBase, type StopMode,
} from './relay-proxy.js'
export { SessionProxies } from './session-proxies.js'
export { TcpGroups, type TcpGroupJoin, type TcpGroupMember, type TcpGroupTicket } from './tcp-groups.js'
