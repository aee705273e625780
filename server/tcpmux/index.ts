// The public face of server/tcpmux/: the relay's tcpmuxHTTPConnectPort (frp's tcpmux httpconnect).
export { basicCredentials, type ConnectHead, MAX_CONNECT_HEAD_BYTES, readConnectHead } from './connect-head.js'
export { CONNECT_HEAD_TIMEOUT_MS, MAX_PENDING_HEADS, TcpmuxHub, type TcpmuxStats, type TcpmuxTicket } from './tcpmux-hub.js'
export { type TcpmuxClaim, type TcpmuxMember, TcpmuxRoute, TcpmuxRoutes } from './tcpmux-routes.js'
