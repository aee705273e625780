// The control plane: every message that crosses a CONTROL frame (UTF-8 JSON), as one
// discriminated union on `type`, with one zod schema per message. A message from a peer is
// checked once, where it arrives (parseControlMessage, called by the mux session); everything
// after that works on typed values and dispatches with an exhaustive switch. A message that is
// not JSON, has an unknown `type`, misses a field or has one of the wrong type or size is a
// ProtocolError naming the type: it ends that one session, never the process.
// The `type` strings and the protocol version are wire values pinned by test/unit/wire-numbers
// and written down in docs/protocol.md (a test keeps the two in step).
import { z } from 'zod'
import { isErrorCode, ProtocolError, type ErrorCode } from '../errors.js'
import { withoutUndefined } from './exact.js'
import { metasSchema } from './group-spec.js'
import { MAX_PROXY_NAME_CHARS } from './proxy-spec.js'

/** The control protocol this build speaks. 2: login carries capabilities, results carry the common set. */
export const CONTROL_PROTOCOL_VERSION = 2
/** Versions a relay of this build accepts from a client (a relay may speak older ones too). */
export const SUPPORTED_CONTROL_VERSIONS: readonly number[] = [CONTROL_PROTOCOL_VERSION]

export const MessageType = {
  LOGIN: 'login',
  LOGIN_RESULT: 'loginResult',
  REGISTER: 'register',
  PROXY_RESULT: 'proxyResult',
  /** Relay -> client on a NAT probe connection, once its idle time is over. */
  NAT_PROBE: 'natProbe',
  /** Client -> relay: your side of this control connection, please (tunnel diag). */
  DIAG_REQUEST: 'diagRequest',
  DIAG_RESULT: 'diagResult',
  UNREGISTER: 'unregister',
  UNREGISTER_RESULT: 'unregisterResult',
  /** Client -> relay: a health-checked proxy became healthy or unhealthy (no answer). */
  PROXY_HEALTH: 'proxyHealth',
} as const
export type MessageTypeName = typeof MessageType[keyof typeof MessageType]

/**
 * What a side can do beyond the base protocol, named on the wire. The login lists the client's;
 * the relay answers with the common set, and the client uses nothing outside it (a proxy type
 * the relay lacks is refused locally with a clear reason instead of being sent).
 */
export const Capability = {
  TCP: 'proxy.tcp',
  UDP: 'proxy.udp',
  HTTP: 'proxy.http',
  HTTPS: 'proxy.https',
  /** unregister / unregisterResult (hot reload). */
  UNREGISTER: 'unregister',
  /** diagRequest / diagResult (the relay's side of the control connection). */
  DIAG: 'diag',
  /** login.probeIdleMs and natProbe (tunnel diag nat-timeout). */
  NAT_PROBE: 'natProbe',
  TCPMUX: 'proxy.tcpmux',
  /** group / groupKey in tcp, http and tcpmux specs: members of one group share a port or domain. */
  GROUP: 'group',
  /** healthy in specs and the proxyHealth message: health-checked proxies leave and rejoin. */
  HEALTH: 'health',
  /** register of stcp proxies (secret TCP: no public port, reached by visitors). */
  STCP: 'proxy.stcp',
  /** register of sudp proxies (secret UDP). */
  SUDP: 'proxy.sudp',
  /** The client may open visit streams (an open header with a visit block) toward secret proxies. */
  VISIT: 'visit',
} as const
export type CapabilityName = typeof Capability[keyof typeof Capability]
export const ALL_CAPABILITIES: readonly string[] = Object.values(Capability)

/** Largest request id (ids are unsigned 32-bit numbers). */
export const MAX_REQUEST_ID = 0xffff_ffff
/** Proxy specs in one register message at most. */
export const MAX_PROXIES_PER_REGISTER = 1024
/** Capabilities a login may list. */
export const MAX_CAPABILITIES = 64
/** How long a NAT probe may ask the relay to stay silent. */
export const PROBE_IDLE_MS = { min: 1_000, max: 900_000 } as const
/** Characters of an error message a peer may send (longer ones are cut, not refused). */
export const MAX_MESSAGE_CHARS = 1024

const text = (max: number): z.ZodString => z.string().max(max)
const requestId = z.number().int().min(0).max(MAX_REQUEST_ID)
/** An error code from a peer: one we know, or dropped (a newer peer may know more). */
const code = z.unknown().transform((v): ErrorCode | undefined => (isErrorCode(v) ? v : undefined))
/** A peer's explanation: kept, but cut to MAX_MESSAGE_CHARS. */
const message = z.string().transform((s) => s.slice(0, MAX_MESSAGE_CHARS))
const proxyName = text(MAX_PROXY_NAME_CHARS).min(1)

export const loginSchema = z.object({
  type: z.literal(MessageType.LOGIN),
  version: z.number().int().min(0).max(0xffff),
  capabilities: z.array(text(64)).max(MAX_CAPABILITIES),
  clientId: text(128),
  user: text(128),
  hostname: text(256),
  /**
   * Set on a `tunnel diag nat-timeout` probe connection: the relay registers nothing, stays silent
   * this long, then sends natProbe.
   */
  probeIdleMs: z.number().int().min(PROBE_IDLE_MS.min).max(PROBE_IDLE_MS.max).optional(),
  /** frp's metadatas: for the relay's plugins (httpPlugins) only. */
  metas: metasSchema.optional(),
})

export const loginResultSchema = z.object({
  type: z.literal(MessageType.LOGIN_RESULT),
  ok: z.boolean(),
  /** The relay's protocol version (on refusals too, so the client can say which versions differ). */
  version: z.number().int().min(0).max(0xffff).optional(),
  /** The capabilities both sides have (on success). */
  capabilities: z.array(text(64)).max(MAX_CAPABILITIES).optional(),
  sessionId: text(64).optional(),
  code: code.optional(),
  message: message.optional(),
})

/**
 * `proxies` holds one spec per proxy; its shape depends on the proxy type and is checked by the
 * relay's proxy registry (server/proxy), so that one bad spec refuses that proxy alone
 * (TUN_PROXY_INVALID). Here only what every spec has: a name and a type.
 */
export const registerSchema = z.object({
  type: z.literal(MessageType.REGISTER),
  proxies: z.array(z.looseObject({ name: proxyName, type: text(32) })).max(MAX_PROXIES_PER_REGISTER),
  /** Copied into every proxyResult this register causes (reloads match answers by it). */
  id: requestId.optional(),
})

export const proxyResultSchema = z.object({
  type: z.literal(MessageType.PROXY_RESULT),
  name: proxyName,
  ok: z.boolean(),
  remotePort: z.number().int().min(0).max(65535).optional(),
  /** http/https: the domains the proxy is served under (customDomains and subdomain.subDomainHost). */
  domains: z.array(text(256)).max(65).optional(),
  code: code.optional(),
  message: message.optional(),
  id: requestId.optional(),
})

export const unregisterSchema = z.object({
  type: z.literal(MessageType.UNREGISTER),
  name: proxyName,
  id: requestId.optional(),
})

export const unregisterResultSchema = z.object({
  type: z.literal(MessageType.UNREGISTER_RESULT),
  name: proxyName,
  ok: z.boolean(),
  code: code.optional(),
  message: message.optional(),
  id: requestId.optional(),
})

export const diagRequestSchema = z.object({
  type: z.literal(MessageType.DIAG_REQUEST),
  id: requestId,
})

/** `view` is the relay's PeerView (shared/diag/peer-view.ts), checked field by field by parsePeerView. */
export const diagResultSchema = z.object({
  type: z.literal(MessageType.DIAG_RESULT),
  id: requestId,
  ok: z.boolean(),
  view: z.unknown().optional(),
  code: code.optional(),
  message: message.optional(),
})

export const proxyHealthSchema = z.object({
  type: z.literal(MessageType.PROXY_HEALTH),
  name: proxyName,
  healthy: z.boolean(),
})

export const natProbeSchema = z.object({
  type: z.literal(MessageType.NAT_PROBE),
  idleMs: z.number().int().min(0).max(PROBE_IDLE_MS.max),
})

/** The schema of every message type (docs/protocol.md lists their fields; a test keeps the two in step). */
export const CONTROL_MESSAGE_SCHEMAS = {
  [MessageType.LOGIN]: loginSchema,
  [MessageType.LOGIN_RESULT]: loginResultSchema,
  [MessageType.REGISTER]: registerSchema,
  [MessageType.PROXY_RESULT]: proxyResultSchema,
  [MessageType.NAT_PROBE]: natProbeSchema,
  [MessageType.DIAG_REQUEST]: diagRequestSchema,
  [MessageType.DIAG_RESULT]: diagResultSchema,
  [MessageType.UNREGISTER]: unregisterSchema,
  [MessageType.UNREGISTER_RESULT]: unregisterResultSchema,
  [MessageType.PROXY_HEALTH]: proxyHealthSchema,
} as const satisfies Record<MessageTypeName, z.ZodType>

type Parsed<T extends z.ZodType> = z.output<T>

export type Login = Parsed<typeof loginSchema>
export type LoginResult = Parsed<typeof loginResultSchema>
export type Register = Parsed<typeof registerSchema>
export type ProxyResult = Parsed<typeof proxyResultSchema>
export type Unregister = Parsed<typeof unregisterSchema>
export type UnregisterResult = Parsed<typeof unregisterResultSchema>
export type DiagRequest = Parsed<typeof diagRequestSchema>
export type DiagResult = Parsed<typeof diagResultSchema>
export type NatProbe = Parsed<typeof natProbeSchema>
export type ProxyHealth = Parsed<typeof proxyHealthSchema>

/** Client → relay. */
export type ClientMessage = Login | Register | Unregister | DiagRequest | ProxyHealth
/** Relay → client. */
export type RelayMessage = LoginResult | ProxyResult | UnregisterResult | DiagResult | NatProbe
export type ControlMessage = ClientMessage | RelayMessage

/** Which side sends each message type: a message from the wrong side is a protocol error. */
export const MESSAGE_SENDER: Readonly<Record<MessageTypeName, 'client' | 'relay'>> = {
  login: 'client',
  register: 'client',
  unregister: 'client',
  diagRequest: 'client',
  proxyHealth: 'client',
  loginResult: 'relay',
  proxyResult: 'relay',
  unregisterResult: 'relay',
  diagResult: 'relay',
  natProbe: 'relay',
}

const isMessageType = (v: unknown): v is MessageTypeName => typeof v === 'string' && Object.hasOwn(CONTROL_MESSAGE_SCHEMAS, v)

/** The ProtocolError for a message that fails its schema; names the type and the first fields at fault. */
function malformed (type: string, error: z.ZodError): ProtocolError {
  const fields = error.issues.slice(0, 3).map((i) => `${i.path.length === 0 ? '(message)' : i.path.join('.')}: ${i.message}`)
  return new ProtocolError('TUN_PROTOCOL', `malformed control message "${type}": ${fields.join('; ')}`, { messageType: type })
}

/** Checks a decoded CONTROL payload; throws a ProtocolError (naming the type) when it is not a valid message. */
export function parseControlMessage (value: unknown): ControlMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('TUN_PROTOCOL', 'control message is not a JSON object')
  }
  const type = (value as { type?: unknown }).type
  if (!isMessageType(type)) {
    const shown = typeof type === 'string' ? `"${type.slice(0, 64)}"` : String(type).slice(0, 64)
    throw new ProtocolError('TUN_PROTOCOL', `unknown control message type ${shown}`, { messageType: typeof type === 'string' ? type.slice(0, 64) : 'none' })
  }
  const result = CONTROL_MESSAGE_SCHEMAS[type].safeParse(value)
  if (!result.success) throw malformed(type, result.error)
  return withoutUndefined<ControlMessage>(result.data)
}

/** Decodes and checks a CONTROL frame's payload (UTF-8 JSON). */
export function decodeControlMessage (payload: Buffer): ControlMessage {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    throw new ProtocolError('TUN_PROTOCOL', 'control message is not valid JSON')
  }
  return parseControlMessage(value)
}

/** Encodes a message for a CONTROL frame. */
export function encodeControlMessage (m: ControlMessage): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8')
}
