// The public face of shared/stun/: the STUN message codec (RFC 8489 Binding, RFC 5780's
// attributes) and the NAT probe both sides use: the relay answers with the codec, the client and
// `tunnel diag nat` ask with the probe.
export { CHANGE_IP, CHANGE_PORT, decodeStun, encodeStun, looksLikeStun, MAX_STUN_ATTRIBUTES, MAX_STUN_MESSAGE_BYTES, newTransactionId, STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, STUN_METHOD_BINDING, STUN_TRANSACTION_ID_BYTES, StunAttr, StunClass, stunAddressable, type StunAddress, type StunMessage } from './message.js'
export { type DatagramEndpoint, type FilteringBehaviour, type MappingBehaviour, natAdvice, type NatReport, type PairAdvice, pairAdvice, probeNat, type ProbeOptions, type PunchVerdict, STUN_MAX_TRANSMISSIONS, STUN_REQUEST_TIMEOUT_MS, STUN_RTO_MS, stunRequest } from './probe.js'
export { dgramEndpoint, localAddresses, stunServerFor } from './endpoint.js'
export { describeLifetime, type DisposableEndpoint, lifetimeWaits, type LifetimeProbe, type LifetimeReport, MAX_LIFETIME_PROBES, MAX_LIFETIME_WAIT_MS, MIN_LIFETIME_WAIT_MS, probeMappingLifetime } from './lifetime.js'
