// The client agent's public face.
export { Client, type ClientEvents, type ClientOptions } from './client.js'
export { isPermanent, PERMANENT_ERROR_CODES } from './permanent.js'
export { diffProxies, relayChanged, type ProxyChange, type ProxyDiff } from './proxy/index.js'
export { reloadFromFile, type ClientConfigLoader, type Reloadable } from './reload-from-file.js'
export { FLEET_FIRST_RESULTS_MS, FleetClient, type FleetTarget } from './fleet-client.js'
export { TcpForwarder } from './tcp-forwarder.js'
export { UdpForwarder } from './udp-forwarder.js'
export { defaultClientKeyFile, loadOrCreateClientKey, logClientKey, type ClientKey } from './client-key.js'
