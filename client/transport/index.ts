// The client's transports under the handshake (issue 18): the dialer that builds TCP, proxy
// (HTTP CONNECT, SOCKS5), TLS and WebSocket layers as transport.* asks.
export { dialRelay, transportName, type RelayConnection } from './dial-relay.js'
export { connectRequest as httpConnectRequest, httpConnect, MAX_PROXY_RESPONSE_BYTES, parseProxyAnswer } from './http-connect.js'
export { connectRequest as socksConnectRequest, credentials as socksCredentials, greeting as socksGreeting, parseAuthStatus, parseConnectReply, parseMethodChoice, SOCKS_REPLIES, socks5Connect } from './socks5.js'
export { tlsConnect, tlsOptions, tlsServerName } from './tls-client.js'
export { websocketConnect, websocketUrl } from './websocket-client.js'
