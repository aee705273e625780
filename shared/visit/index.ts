// The public face of shared/visit/: what secret proxies (stcp, sudp) and their visitors share on
// both sides: the proof of the secret, the replay window, and datagrams on a stream (sudp).
export { DATAGRAM_LENGTH_BYTES, DatagramReader, frameDatagram } from './datagram-stream.js'
export { MAX_CACHED_VISIT_KEYS, SECRET_KDF, type VisitClaim, type VisitKeys, checkVisitMac, deriveVisitKeys, newVisitNonce, proveVisit, userAllowed, visitKeysFor, visitMac } from './proof.js'
export { MAX_VISIT_REPLAY_ENTRIES, ReplayWindow, type ReplayVerdict, type ReplayWindowOptions } from './replay-window.js'
