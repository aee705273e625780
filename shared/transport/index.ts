// The secure transport's public face: the Noise handshake (pure halves and wire format), the
// replay guard, key material, and the record layer that wraps a socket as a mux Wire.
export { ClientHandshake, type ClientHandshakeOptions, type ClientKeys } from './handshake-client.js'
export { answerHello, relayKeyId, type RelayAccepted, type RelayHandshakeContext, type RelayOutcome, type RelayRefused } from './handshake-relay.js'
export { encodeRefusal, HANDSHAKE_VERSION, HelloFlag, MAX_HELLO_BYTES, parseHello, parseResponse, Refusal, type Hello, type Response } from './handshake.js'
export { readHandshakeMessage } from './handshake-io.js'
export { clientKeyId, decodeKey, derivePsk, encodeKey, formatKeyId, keyId, newKeyPair, relayKeyPair, type EncodedKeyPair } from './keys.js'
export { CipherState, generateKeyPair, HandshakeState, keyPairFromSecret, PATTERNS, protocolName, type KeyPair, type PatternName } from './noise.js'
export { DEFAULT_RECORD_LIMITS, MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer, type RecordLimits } from './record.js'
export { recordWire, type RecordStats, type RecordWire, type TransportCiphers } from './record-wire.js'
export { ReplayGuard, type Freshness, type ReplayGuardOptions } from './replay.js'
export { ACCEPT_BYTES } from './handshake.js'
export { TAG_BYTES } from './noise.js'
export { RECORD_HEADER_BYTES } from './record.js'
