// The public face of shared/wire/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, Capability, type ClientMessage, type ControlMessage, type DiagResult, type Login, type LoginResult, MAX_REQUEST_ID, MESSAGE_SENDER, MessageType, PROBE_IDLE_MS, type ProxyHealth, type ProxyResult, type Register, type RelayMessage, SUPPORTED_CONTROL_VERSIONS, type Unregister, type UnregisterResult, decodeControlMessage, encodeControlMessage } from './control.js'
export { FrameDecoder } from './decode.js'
export { decodeFlowOpen, encodeFlowOpen } from './dgram.js'
export { Flag, type FrameHeader, FrameType, GoAwayCode, HEADER_BYTES, MAX_CONTROL_BYTES, MAX_DATAGRAM_BYTES, MAX_DATA_BYTES, ResetCode, encodeHeader, writeHeader } from './frame.js'
export { type Endpoint, type OpenHeader, decodeOpen, encodeOpen } from './open.js'
export { type HttpProxySpec, type HttpsProxySpec, MAX_SOURCE_RULES, type ProxySpec, type SourceSpec, type TcpProxySpec, type TcpmuxProxySpec, type UdpProxySpec, VHOST_LIMITS, describeIssues, httpSpecSchema, httpsSpecSchema, tcpSpecSchema, tcpmuxSpecSchema, udpSpecSchema } from './proxy-spec.js'
export { GROUP_LIMITS, METAS_LIMITS, metasSchema } from './group-spec.js'
export { KEY_BASE64, SECRET_LIMITS, type SecretProxySpec, type StcpProxySpec, type SudpProxySpec, stcpSpecSchema, sudpSpecSchema } from './proxy-spec.js'
export { MAX_VISIT_USER_BYTES, VISIT_MAC_BYTES, VISIT_NONCE_BYTES, type VisitBlock, VisitKind, visitKindName } from './visit.js'
