// What a client asks the relay to serve for one proxy, inside a register message: one zod
// schema per proxy type (frp's keys; the relay never sees localIP, localPort or the PROXY
// header). The relay's proxy registry (server/proxy) checks each spec against its type's schema
// when the register arrives, so one bad spec refuses that proxy alone (TUN_PROXY_INVALID) and
// the session goes on. Bounds here are the relay's defence against what a token holder sends;
// the config schema has the same ones, so a valid frpc.yml never hits them.
import { z } from 'zod'
import { isCidr } from '../net/index.js'
import { memberFields, metasField } from './group-spec.js'

/** At most this many rules per allow/deny list; the config schema has the same bound. */
export const MAX_SOURCE_RULES = 256
/** Bounds on what an http/https proxy may ask for (the config schema has the same). */
export const VHOST_LIMITS = { domains: 64, locations: 64, headers: 16, domainChars: 256, locationChars: 256, headerNameChars: 64, headerValueChars: 512, credentialChars: 256 } as const
/** Bounds the relay enforces on what a client asks for a UDP proxy. */
export const UDP_LIMITS = { idleTimeout: { min: 1, max: 86_400 }, maxFlows: { min: 1, max: 65_536 } } as const
/** Bounds of the optional limits (bytes per second: up to 1 TiB/s; visitors: 2^24). */
export const PROXY_LIMITS = { bandwidthLimit: { min: 1, max: 2 ** 40 }, maxVisitors: { min: 1, max: 2 ** 24 } } as const
export const MAX_PROXY_NAME_CHARS = 200
/** Bounds on a secret proxy's allowUsers (user names, or `*` for any); the config schema has the same. */
export const SECRET_LIMITS = { allowUsers: 256, userChars: 128 } as const
/** A 32-byte key in standard base64 (44 characters with its padding). */
export const KEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/

const int = (range: { min: number, max: number }): z.ZodNumber => z.number().int().min(range.min).max(range.max)
const rules = z.array(z.string().max(64).refine(isCidr, { error: 'not a CIDR or IP address' })).max(MAX_SOURCE_RULES)
const strings = (items: number, chars: number): z.ZodDefault<z.ZodArray<z.ZodString>> => z.array(z.string().max(chars)).max(items).default([])
const headers = z.record(z.string().max(VHOST_LIMITS.headerNameChars), z.string().max(VHOST_LIMITS.headerValueChars))
  .refine((h) => Object.keys(h).length <= VHOST_LIMITS.headers, { error: `at most ${VHOST_LIMITS.headers} headers` })

/** Fields every spec has. allowSources/denySources are sent only when non-empty. */
const base = {
  name: z.string().min(1).max(MAX_PROXY_NAME_CHARS),
  allowSources: rules.optional(),
  denySources: rules.optional(),
  ...metasField,
}

export const tcpSpecSchema = z.object({
  ...base,
  type: z.literal('tcp'),
  remotePort: int({ min: 0, max: 65535 }),
  /** Bytes per second for the whole proxy, both directions (bandwidthLimitMode server only). */
  bandwidthLimit: int(PROXY_LIMITS.bandwidthLimit).optional(),
  /** Visitor connections open at once on this proxy. */
  maxVisitors: int(PROXY_LIMITS.maxVisitors).optional(),
  ...memberFields,
})

export const udpSpecSchema = z.object({
  ...base,
  type: z.literal('udp'),
  remotePort: int({ min: 0, max: 65535 }),
  /** Seconds without a datagram before a flow expires. */
  idleTimeout: int(UDP_LIMITS.idleTimeout),
  /** Flows at most at once. */
  maxFlows: int(UDP_LIMITS.maxFlows),
  bandwidthLimit: int(PROXY_LIMITS.bandwidthLimit).optional(),
})

/**
 * Served on the relay's vhostHTTPPort for its domains and path prefixes. The relay checks the
 * domains, locations and header names itself (a bad one refuses this proxy alone); the schema
 * checks the shape and the sizes.
 */
export const httpSpecSchema = z.object({
  ...base,
  type: z.literal('http'),
  customDomains: strings(VHOST_LIMITS.domains, VHOST_LIMITS.domainChars),
  /** Prefixed to the relay's subDomainHost. */
  subdomain: z.string().max(64).optional(),
  /** Path prefixes; empty means every path. */
  locations: strings(VHOST_LIMITS.locations, VHOST_LIMITS.locationChars),
  hostHeaderRewrite: z.string().max(VHOST_LIMITS.domainChars).optional(),
  /** requestHeaders.set / responseHeaders.set: name → value. */
  requestHeaders: headers.optional(),
  responseHeaders: headers.optional(),
  httpUser: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  /** Secret: travels only inside the encrypted control connection, never logged. */
  httpPassword: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  /** Only requests whose basic-auth user is this one are routed here (frp's routeByHTTPUser). */
  routeByHTTPUser: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  /**
   * The client writes its service a PROXY header (transport.proxyProtocolVersion) first on each
   * stream: the relay then carries one visitor connection's requests on a stream, never another's.
   */
  proxyProtocol: z.boolean().optional(),
  ...memberFields,
})

/** TLS connections on vhostHTTPSPort routed by SNI, passed through untouched. */
export const httpsSpecSchema = z.object({
  ...base,
  type: z.literal('https'),
  customDomains: strings(VHOST_LIMITS.domains, VHOST_LIMITS.domainChars),
  subdomain: z.string().max(64).optional(),
})

/**
 * frp's tcpmux (multiplexer httpconnect): TCP services on the relay's tcpmuxHTTPConnectPort, each
 * chosen by the host of the visitor's HTTP CONNECT request (and its Proxy-Authorization user with
 * routeByHTTPUser); the relay then passes every byte through.
 */
export const tcpmuxSpecSchema = z.object({
  ...base,
  type: z.literal('tcpmux'),
  multiplexer: z.literal('httpconnect'),
  customDomains: strings(VHOST_LIMITS.domains, VHOST_LIMITS.domainChars),
  subdomain: z.string().max(64).optional(),
  /** Proxy-Authorization (basic) the relay asks CONNECT requests for. */
  httpUser: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  /** Secret: travels only inside the encrypted control connection, never logged. */
  httpPassword: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  /** Only CONNECT requests whose Proxy-Authorization user is this one are routed here. */
  routeByHTTPUser: z.string().max(VHOST_LIMITS.credentialChars).optional(),
  bandwidthLimit: int(PROXY_LIMITS.bandwidthLimit).optional(),
  ...memberFields,
})

/**
 * What stcp and sudp share: no public port. `relayKey` lets the relay check a visitor's proof
 * (derived from secretKey, which never leaves the client: docs/security.md); `allowUsers` names
 * the users whose visitors may come (`*` = any; empty = the proxy's own user, as in frp).
 */
const secretBase = {
  ...base,
  relayKey: z.string().regex(KEY_BASE64),
  allowUsers: z.array(z.string().min(1).max(SECRET_LIMITS.userChars)).max(SECRET_LIMITS.allowUsers).default([]),
  bandwidthLimit: int(PROXY_LIMITS.bandwidthLimit).optional(),
}

/** Secret TCP (frp's stcp): visitors' streams are joined to streams toward the client. */
export const stcpSpecSchema = z.object({
  ...secretBase,
  type: z.literal('stcp'),
  /** Visits open at once on this proxy. */
  maxVisitors: int(PROXY_LIMITS.maxVisitors).optional(),
})

/** Secret UDP (frp's sudp): each visitor flow is a stream of whole datagrams. */
export const sudpSpecSchema = z.object({
  ...secretBase,
  type: z.literal('sudp'),
})

/** Secret peer to peer (frp's xtcp): a visit is the two clients' introduction; the bytes go direct. */
export const xtcpSpecSchema = z.object({
  ...secretBase,
  type: z.literal('xtcp'),
})

export type TcpProxySpec = z.output<typeof tcpSpecSchema>
export type UdpProxySpec = z.output<typeof udpSpecSchema>
export type HttpProxySpec = z.output<typeof httpSpecSchema>
export type HttpsProxySpec = z.output<typeof httpsSpecSchema>
export type TcpmuxProxySpec = z.output<typeof tcpmuxSpecSchema>
export type StcpProxySpec = z.output<typeof stcpSpecSchema>
export type SudpProxySpec = z.output<typeof sudpSpecSchema>
export type XtcpProxySpec = z.output<typeof xtcpSpecSchema>
export type SecretProxySpec = StcpProxySpec | SudpProxySpec | XtcpProxySpec
/** The spec of a built-in proxy type (what a client of this build sends). */
export type ProxySpec = TcpProxySpec | UdpProxySpec | HttpProxySpec | HttpsProxySpec | TcpmuxProxySpec | StcpProxySpec | SudpProxySpec | XtcpProxySpec
export type ProxyType = ProxySpec['type']
/** Visitor filtering: CIDRs or single addresses. */
export type SourceSpec = Pick<TcpProxySpec, 'allowSources' | 'denySources'>

/** The built-in types' schemas, for the relay's registry. */
export const PROXY_SPEC_SCHEMAS = {
  tcp: tcpSpecSchema,
  udp: udpSpecSchema,
  http: httpSpecSchema,
  https: httpsSpecSchema,
  tcpmux: tcpmuxSpecSchema,
  stcp: stcpSpecSchema,
  sudp: sudpSpecSchema,
  xtcp: xtcpSpecSchema,
} as const satisfies Record<ProxyType, z.ZodType>

/** The first few problems of a spec that fails its schema, as one line (`remotePort: too big; ...`). */
export function describeIssues (error: z.ZodError, max = 3): string {
  return error.issues.slice(0, max).map((i) => `${i.path.length === 0 ? '(spec)' : i.path.join('.')}: ${i.message}`).join('; ')
}
