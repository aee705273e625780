// The public face of shared/mux/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { BRIDGE_SOCKET_LISTENERS, bridge } from './bridge.js'
export { MuxDuplex } from './duplex.js'
export { type JoinResult, joinStreams, resetCodeFor } from './join.js'
export { type ClientSession, DEFAULT_MAX_STREAMS, MAX_STREAMS_LIMIT, type RelaySession, Session, type SessionOptions } from './session.js'
export { type MuxStream } from './stream.js'
export { adoptPooledReads, PooledReader, releaseRead } from './read-pool.js'
export { type Wire, closeReason, closeSocket } from './wire.js'
