// The relay's public face.
export { Relay, type RelayAddress } from './relay.js'
export { isPortAllowed, candidatePorts, describeRanges } from './proxy/ports.js'
