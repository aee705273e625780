// The relay's public face.
export { Relay, type RelayAddress, type RelayOptions } from './relay.js'
export { relayStatus } from './admin-status.js'
export * from './proxy/index.js'
