// The public face of client/p2p/: direct (xtcp) paths between two clients, introduced over a
// visit stream through the relay, punched through both NATs, carried by udx (reliable UDP streams)
// under the same records and mux session as the relay's path.
export { IntroChannel } from './channel.js'
export { acceptPath, connectPath, gatherCandidates, type DirectPath, INTRO_TIMEOUT_MS, PATH_HEARTBEAT_INTERVAL_MS, PATH_HEARTBEAT_TIMEOUT_MS, PathError, type PathFailure, type PathSettings } from './path.js'
export { MAX_PUNCH_PACKETS, MAX_SEEN_NONCES, PUNCH_INTERVAL_MS, PUNCH_LINGER_MS, PUNCH_TIMEOUT_MS, punch, type PunchRefusal } from './punch.js'
export { decodePunch, encodePunch, PunchType } from './intro.js'
export { MAX_DIRECT_PATHS, type ResponderStats, XtcpResponder } from './responder.js'
