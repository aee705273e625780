// First bytes that tell the transports of a control connection apart on the relay's port
// (docs/protocol.md §0). Both sides use them: the client writes frp's marker, the relay reads it.

/** frp's marker before a TLS ClientHello (frp's FRPTLSHeadByte), sent with disableCustomTLSFirstByte: false. */
export const FRP_TLS_FIRST_BYTE = 0x17
/** The first byte of a TLS record carrying a handshake message (a ClientHello). */
export const TLS_HANDSHAKE_BYTE = 0x16
