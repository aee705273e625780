// The relay's transports under the handshake (issue 18): the first-byte sniffer, TLS and
// WebSocket acceptors, and the self-signed certificate made when none is configured.
export { classifyFirstByte, MAX_TRANSPORT_LAYERS, openTransport, type FirstByteKind, type OpenedTransport, type TransportLayer, type TransportPolicy } from './open-transport.js'
export { selfSignedCertificate, SELF_SIGNED_COMMON_NAME } from './self-signed.js'
export { TlsAcceptor } from './tls-acceptor.js'
export { forwardedSource, MAX_UPGRADE_REQUEST_BYTES, parseUpgradeRequest, upgradeStatus, WebSocketAcceptor, type UpgradeRequest } from './websocket-upgrade.js'
