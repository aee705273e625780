// The public face of shared/net/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { type HostPort, formatHostPort, ipv6Bytes, normalizeAddress, parseHost, parseHostPort, unbracket } from './address.js'
export { DEFAULT_BACKLOG, listenError, listenOrClose, listenTcp } from './listen.js'
export { type ProxyEndpoint, encodeProxyHeader } from './proxy-protocol.js'
export { SourceFilter, isCidr } from './source-filter.js'
export { bindUdp, maxDatagramBytesTo, readKernelUdpDrops, udpTypeFor, MAX_UDP_PAYLOAD_BYTES } from './udp.js'
export { asSocket, MAX_WEBSOCKET_MESSAGE_BYTES, socketLike, WEBSOCKET_CLOSE_NORMAL, WEBSOCKET_PATH, WebSocketStream, type SocketLike } from './websocket-stream.js'
export { FRP_TLS_FIRST_BYTE, TLS_HANDSHAKE_BYTE } from './transport-bytes.js'
