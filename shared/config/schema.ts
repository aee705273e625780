// The shapes of frps.yml and frpc.yml as zod 4 schemas: the single source for runtime checks,
// input types and the JSON Schemas in configs/. Key names are frp v1's. Defaults are applied
// afterwards (load.ts), so the schemas describe what a user may write, not what we fill in.

import { z } from 'zod'
import { parseBandwidth } from '../limit/index.js'
import { isHeaderValue, isSubdomainLabel, normalizeDomain, normalizeHostName, normalizeLocation } from '../http/index.js'
import { isCidr } from '../net/index.js'
import { MAX_STREAMS_LIMIT } from '../mux/index.js'
import { MAX_SOURCE_RULES, VHOST_LIMITS } from '../wire/index.js'
import { CLIENT_DEFAULTS, SERVER_DEFAULTS } from './types.js'

export type Side = 'server' | 'client'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
/** frp's proxy name rule, bounded so names fit in logs and wire messages. */
export const PROXY_NAME = /^[A-Za-z0-9._-]{1,64}$/
/** Keys whose values are secrets: their values never appear in messages. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'password', 'secretKey', 'clientSecret', 'httpPassword', 'privateKey', 'clientKey'])
/** Entries of auth.clientKeys at most. */
export const MAX_CLIENT_KEYS = 10_000

/** Upper bound of maxConnections / maxVisitors: far above any fd limit a host allows. */
const MAX_CONNECTIONS = 16_777_216
/** Bounds of maxBufferedBytesPerClient: at least one socket read, at most 1 GiB. */
const MIN_BUFFERED_BYTES = 64 * 1024
const MAX_BUFFERED_BYTES = 1024 * 1024 * 1024
/** Upper bound of the per-client and per-user caps (maxProxiesPerClient, ...). */
const MAX_CAP = 1_048_576
const cap = (what: string, def: number): z.ZodOptional<z.ZodNumber> => z.int().min(0).max(MAX_CAP).optional().describe(`Our key (frp has none): ${what}; a proxy past it is refused alone (TUN_CLIENT_LIMIT). Default ${def}; 0 = no cap.`)
const port = (min: 0 | 1): z.ZodNumber => z.int().min(min).max(65535)
/** Durations in seconds, frp's unit; <= 0 often means "disabled". Bounded to a day. */
const seconds = (): z.ZodNumber => z.int().min(-86400).max(86400)

// ---------------------------------------------------------------------------------------------
// frp v1 keys this version knows but does not implement. One table: `ignore` rows are accepted
// (typed, so the JSON Schema completes them) and produce a warning; `refuse` rows are errors with
// a reason instead of a bare "unknown key". `path` uses `proxies[]` for every proxy.
// ---------------------------------------------------------------------------------------------

export interface FrpKey {
  action: 'ignore' | 'refuse'
  sides: readonly Side[]
  path: string
  why: string
  schema?: z.ZodType
}

const BOTH: readonly Side[] = ['server', 'client']
const SERVER: readonly Side[] = ['server']
const CLIENT: readonly Side[] = ['client']

const ignore = (sides: readonly Side[], path: string, schema: z.ZodType, why: string): FrpKey =>
  ({ action: 'ignore', sides, path, why, schema })
const refuse = (sides: readonly Side[], paths: readonly string[], why: string): FrpKey[] =>
  paths.map((path) => ({ action: 'refuse', sides, path, why }))

const tls = z.looseObject({
  enable: z.boolean().optional(),
  force: z.boolean().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  trustedCaFile: z.string().optional(),
  serverName: z.string().optional(),
  disableCustomTLSFirstByte: z.boolean().optional(),
})
const stringMap = z.record(z.string(), z.string())

const UNSUPPORTED_PROXY_KEYS = ['routeByHTTPUser', 'multiplexer', 'secretKey', 'allowUsers', 'natTraversal'].map((k) => `proxies[].${k}`)

export const FRP_KEYS: readonly FrpKey[] = [
  ignore(BOTH, 'webServer.assetsDir', z.string(), 'there is no web dashboard; the admin API serves JSON and metrics only'),
  ignore(BOTH, 'webServer.pprofEnable', z.boolean(), 'Go profiling does not apply; profile with node --cpu-prof or --inspect'),
  ignore(BOTH, 'transport.tcpMux', z.boolean(), 'the control connection always multiplexes streams'),
  ignore(BOTH, 'transport.tcpMuxKeepaliveInterval', seconds(), 'liveness is checked by transport.heartbeatTimeout'),
  ignore(BOTH, 'transport.tls', tls, 'the control connection is always encrypted by its own handshake, not TLS'),
  ignore(BOTH, 'transport.quic', z.looseObject({}), 'it applies only to transport.protocol quic, which is not supported'),
  ignore(CLIENT, 'transport.poolCount', z.int(), 'streams open on demand over one connection; there is no connection pool'),
  ignore(SERVER, 'transport.maxPoolCount', z.int(), 'streams open on demand over one connection; there is no connection pool'),
  ignore(SERVER, 'transport.tcpKeepalive', seconds(), 'a dead client is detected by transport.heartbeatTimeout'),
  ignore(CLIENT, 'transport.dialServerKeepalive', seconds(), 'a dead relay is detected by transport.heartbeatTimeout'),
  ignore(CLIENT, 'transport.wireProtocol', z.string(), 'tunnel speaks its own wire protocol'),
  ignore(BOTH, 'log.to', z.string(), 'logs always go to stderr; redirect them or use journald'),
  ignore(BOTH, 'log.maxDays', z.int(), 'logs are not written to files, so there is nothing to rotate'),
  ignore(BOTH, 'log.disablePrintColor', z.boolean(), 'colour is used only when stderr is a terminal'),
  ignore(BOTH, 'auth.additionalScopes', z.array(z.string()), 'heartbeats and new streams always ride the authenticated session'),
  ignore(SERVER, 'detailedErrorsToClient', z.boolean(), 'clients always get an error code and reason'),
  ignore(SERVER, 'userConnTimeout', seconds(), 'there are no work connections to wait for'),
  ignore(SERVER, 'natholeAnalysisDataReserveHours', z.int(), 'xtcp is not supported'),
  ignore(CLIENT, 'natHoleStunServer', z.string(), 'xtcp is not supported'),
  ignore(BOTH, 'udpPacketSize', z.int(), 'datagrams are never cut: each travels whole, up to 65,527 bytes'),
  ignore(CLIENT, 'metadatas', stringMap, 'there are no server plugins to receive them'),
  ignore(CLIENT, 'proxies[].metadatas', stringMap, 'there are no server plugins to receive them'),
  ignore(CLIENT, 'proxies[].annotations', stringMap, 'there is no dashboard to show them'),
  ignore(CLIENT, 'proxies[].transport.useEncryption', z.boolean(), 'every stream rides the encrypted control connection'),
  ignore(CLIENT, 'proxies[].transport.useCompression', z.boolean(), 'compression is not offered'),
  ...refuse(CLIENT, ['includes'], 'put every proxy in this file'),
  ...refuse(CLIENT, ['visitors'], 'stcp, sudp and xtcp visitors are not supported'),
  ...refuse(CLIENT, ['start'], 'remove it and set `enabled: false` on proxies that should not run'),
  ...refuse(CLIENT, ['dnsServer'], 'the system resolver is used; remove it'),
  ...refuse(CLIENT, ['featureGates', 'virtualNet', 'store'], 'remove it'),
  ...refuse(BOTH, ['webServer.tls'], 'the admin API speaks plain HTTP: keep it on loopback, or put a TLS proxy in front of it'),
  ...refuse(BOTH, ['auth.tokenSource'], 'put the token in auth.token, or use {{ .Envs.NAME }}'),
  ...refuse(BOTH, ['auth.oidc'], 'only auth.method token is supported'),
  ...refuse(CLIENT, ['transport.proxyURL', 'transport.connectServerLocalIP'], 'remove it; the relay is dialled directly'),
  ...refuse(SERVER, ['kcpBindPort', 'quicBindPort'], 'clients connect over tcp only'),
  ...refuse(SERVER, ['tcpmuxHTTPConnectPort', 'tcpmuxPassthrough'], 'tcpmux proxies are not supported'),
  ...refuse(SERVER, ['httpPlugins'], 'server plugins are not supported'),
  ...refuse(SERVER, ['sshTunnelGateway'], 'the ssh tunnel gateway is not supported'),
  ...refuse(CLIENT, ['proxies[].plugin'], 'proxy plugins are not supported; point localIP/localPort at the service'),
  ...refuse(CLIENT, ['proxies[].healthCheck', 'proxies[].loadBalancer'], 'health checks and load-balancing groups are not supported'),
  ...refuse(CLIENT, UNSUPPORTED_PROXY_KEYS, 'it belongs to a proxy type or feature other than tcp, udp, http and https'),
]

/** Optional zod entries for the `ignore` rows whose parent is `parent` (e.g. `transport`). */
function ignoredAt (side: Side, parent: string): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {}
  for (const row of FRP_KEYS) {
    if (row.action !== 'ignore' || row.schema === undefined || !row.sides.includes(side)) continue
    const dot = row.path.lastIndexOf('.')
    if ((dot === -1 ? '' : row.path.slice(0, dot)) !== parent) continue
    shape[row.path.slice(dot + 1)] = row.schema.optional().describe(`frp setting that tunnel ignores: ${row.why}.`)
  }
  return shape
}

// Our keys (frp has none): the relay's X25519 key pair, base64 as printed by `tunnel keygen`.
const relayKeys = {
  privateKey: z.string().optional().describe('The relay\'s X25519 private key (base64, from tunnel keygen). Secret: prefer privateKeyFile or {{ .Envs.NAME }}.'),
  privateKeyFile: z.string().min(1).optional().describe('A file holding the private key (base64); it must not be readable by group or others (chmod 600). Relative to this file\'s directory.'),
  clientKeys: z.array(z.strictObject({
    publicKey: z.string().describe('A client\'s public key (base64, from tunnel keygen --client --show on the client).'),
    user: z.string().max(128).optional().describe('This key may log in only with this user (frp\'s user: its proxies are named {user}.{name}).'),
    clientID: z.string().max(128).optional().describe('This key may log in only as this clientID.'),
  })).max(MAX_CLIENT_KEYS).optional().describe(`Only these client keys may log in (each optionally bound to a user and a clientID). Absent or empty: any client with the token. At most ${MAX_CLIENT_KEYS}.`),
}
const clientKeys = {
  serverKey: z.string().optional().describe('The relay\'s public key (base64, from tunnel keygen): pins the relay (Noise IKpsk1). Without it the relay is not authenticated (warning).'),
  clientKey: z.string().optional().describe('This client\'s X25519 private key (base64): its identity on the relay. Secret: prefer clientKeyFile or {{ .Envs.NAME }}. Default: a key generated on first start into clientKeyFile.'),
  clientKeyFile: z.string().min(1).optional().describe('The file holding this client\'s private key (chmod 600); created with a new key on first start when missing. Relative to this file\'s directory. Default: $STATE_DIRECTORY/<clientID>.key, else $XDG_STATE_HOME/tunnel/ or ~/.local/state/tunnel/.'),
}

const auth = (side: Side) => z.strictObject({
  method: z.literal('token').optional().describe('Only token is supported. Default token.'),
  token: z.string().optional().describe('Shared secret; must match on both sides. Use {{ .Envs.NAME }} to keep it out of the file.'),
  ...ignoredAt(side, 'auth'),
})

const log = (side: Side) => z.strictObject({
  level: z.enum(LOG_LEVELS).optional().describe(`Default ${SERVER_DEFAULTS.logLevel}.`),
  ...ignoredAt(side, 'log'),
})

/** frp's webServer block: the admin API (status, diag, /metrics, reload). Off unless port is set. */
const webServer = (side: Side) => z.strictObject({
  addr: z.string().min(1).optional().describe(`Address of the admin API. Default ${SERVER_DEFAULTS.adminAddr}; any non-loopback address needs password or token.`),
  port: port(0).optional().describe('Port of the admin API; the API is off unless this is set. 0 picks a free port (logged as "admin listening").'),
  user: z.string().optional().describe('Basic auth user name (with password).'),
  password: z.string().optional().describe('Basic auth password; turns authentication on. Secret: use {{ .Envs.NAME }}.'),
  token: z.string().optional().describe('Our key (frp has none): a bearer token (Authorization: Bearer TOKEN); turns authentication on. Secret.'),
  ...ignoredAt(side, 'webServer'),
}).describe(side === 'server'
  ? 'The admin API: GET /api/status, /api/diag and (with enablePrometheus) /metrics.'
  : 'The admin API: GET /api/status, /api/diag, /metrics and POST /api/reload.')

const portRange = z.union([
  z.strictObject({ start: port(1), end: port(1) }),
  z.strictObject({ single: port(1) }),
])

// Virtual hosts (frp's keys): http proxies routed by Host and path, https proxies by TLS SNI.
const vhostServerKeys = {
  vhostHTTPPort: port(0).optional().describe('Public port of http proxies (routed by Host and path); 0 or absent: none. Binds proxyBindAddr.'),
  vhostHTTPSPort: port(0).optional().describe('Public port of https proxies (routed by TLS server name, TLS passed through to the service); 0 or absent: none.'),
  vhostHTTPTimeout: z.int().min(1).max(86400).optional().describe(`Seconds an http proxy's service has to send its response header (then 504). Default ${SERVER_DEFAULTS.vhostHTTPTimeout}.`),
  subDomainHost: z.string().refine((v) => normalizeHostName(v) !== undefined, { error: 'must be a domain like example.com' }).optional().describe('Proxies with `subdomain: x` are served as x.{subDomainHost}.'),
  custom404Page: z.string().min(1).optional().describe('A file (HTML, at most 64 KiB) sent as the body of the relay\'s 404 page. Relative to this file\'s directory.'),
}

const domain = z.string().refine((v) => normalizeDomain(v) !== undefined, { error: 'must be a domain: a host name like www.example.com, *.example.com, or *' })
const location = z.string().refine((v) => !('problem' in normalizeLocation(v)), { error: 'must be a path prefix starting with / (no ?, # or spaces)' })
const headerSet = z.strictObject({
  set: z.record(
    z.string(), // names are checked in vhost-checks.ts (a message naming the key's place)
    z.string().refine(isHeaderValue, { error: `must be at most ${VHOST_LIMITS.headerValueChars} characters without line breaks` }),
  ).refine((m) => Object.keys(m).length <= VHOST_LIMITS.headers, { error: `at most ${VHOST_LIMITS.headers} headers` }).optional(),
})

const vhostProxyKeys = {
  customDomains: z.array(domain).max(VHOST_LIMITS.domains).optional().describe('http/https: domains served by this proxy (www.example.com, *.example.com, or * for every other name).'),
  subdomain: z.string().refine(isSubdomainLabel, { error: 'must be one label (letters, digits, -), without dots or *' }).optional().describe('http/https: served as {subdomain}.{the relay\'s subDomainHost}.'),
  locations: z.array(location).max(VHOST_LIMITS.locations).optional().describe('http only: path prefixes served by this proxy; the longest matching one wins. Default: every path.'),
  hostHeaderRewrite: z.string().max(VHOST_LIMITS.domainChars).optional().describe('http only: the Host header the service gets instead of the visitor\'s.'),
  requestHeaders: headerSet.optional().describe('http only: `set:` headers (name: value) set on every request to the service.'),
  responseHeaders: headerSet.optional().describe('http only: `set:` headers (name: value) set on every response to the visitor.'),
  httpUser: z.string().max(VHOST_LIMITS.credentialChars).optional().describe('http only: basic-auth user the relay asks visitors for.'),
  httpPassword: z.string().max(VHOST_LIMITS.credentialChars).optional().describe('http only: basic-auth password (secret; use {{ .Envs.NAME }}).'),
}

// The mux session's stream cap (issue 21), our key on both sides.
const MIN_MAX_STREAMS = 4
const streamKeys = (side: Side) => ({
  maxStreams: z.int().min(MIN_MAX_STREAMS).max(MAX_STREAMS_LIMIT).optional().describe(side === 'server'
    ? `Our key (frp has none): streams (visitor connections of tcp proxies and the vhost ports) one client's session may hold open at once; more are refused (reset). One source (an IPv4 address or an IPv6 /64) gets at most a quarter of them. Default ${SERVER_DEFAULTS.maxStreams}.`
    : `Our key (frp has none): streams the relay may hold open to this client at once; more are refused (reset). Keep it at least the relay's. Default ${CLIENT_DEFAULTS.maxStreams}.`),
})

export const serverSchema = z.strictObject({
  bindAddr: z.string().min(1).optional().describe(`Address clients connect to. Default ${SERVER_DEFAULTS.bindAddr} (dual-stack).`),
  bindPort: port(0).optional().describe(`Port clients connect to. Default ${SERVER_DEFAULTS.bindPort}; 0 picks a free port.`),
  proxyBindAddr: z.string().min(1).optional().describe('Address public proxy ports bind to. Default: bindAddr.'),
  auth: auth('server').extend(relayKeys).optional(),
  allowPorts: z.array(portRange).optional().describe('Ports clients may ask for. Empty means 1-65535.'),
  maxPortsPerClient: z.int().min(0).max(65535).optional().describe('0 means unlimited.'),
  ownershipGrace: z.int().min(0).max(86400).optional().describe(`Our key (frp has none): seconds a client's proxy names, public ports and domains stay reserved for its key after its session ends, so it gets them back when it reconnects and no other client takes them meanwhile. 0 = none. Default ${SERVER_DEFAULTS.ownershipGrace}.`),
  maxProxiesPerClient: cap('proxies of any type one client session holds', SERVER_DEFAULTS.maxProxiesPerClient),
  maxVhostProxiesPerClient: cap('http and https proxies one client session holds', SERVER_DEFAULTS.maxVhostProxiesPerClient),
  maxDomainsPerClient: cap('distinct domains the http/https proxies of one client session claim', SERVER_DEFAULTS.maxDomainsPerClient),
  maxLocationsPerClient: cap('(domain, location) pairs the http/https proxies of one client session claim (2 domains x 3 locations = 6; https counts 1 per domain)', SERVER_DEFAULTS.maxLocationsPerClient),
  maxProxiesPerUser: cap('proxies of any type all sessions of one login `user` hold together (clients without user have only the per-client caps)', SERVER_DEFAULTS.maxProxiesPerUser),
  maxVhostProxiesPerUser: cap('http and https proxies all sessions of one `user` hold together', SERVER_DEFAULTS.maxVhostProxiesPerUser),
  maxDomainsPerUser: cap('distinct domains all sessions of one `user` claim together', SERVER_DEFAULTS.maxDomainsPerUser),
  maxLocationsPerUser: cap('(domain, location) pairs all sessions of one `user` claim together', SERVER_DEFAULTS.maxLocationsPerUser),
  maxConnections: z.int().min(0).max(MAX_CONNECTIONS).optional().describe('Our key (frp has none): visitor connections open at once over all tcp proxies; more are closed at once and counted (shed). 0 (default) derives it from the fd limit (ulimit -n) minus a reserve; a larger value is lowered to that.'),
  maxConnectionsPerSource: z.int().min(0).max(MAX_CONNECTIONS).optional().describe(`Our key: visitor connections (tcp proxies and vhost ports) one source (an IPv4 address or an IPv6 /64) may hold open at once over the whole relay; more are reset at once and counted. 0 = no cap of its own. Default ${SERVER_DEFAULTS.maxConnectionsPerSource}.`),
  maxVisitorsPerSource: z.int().min(0).max(MAX_CONNECTIONS).optional().describe(`Our key: visitor connections one source (an IPv4 address or an IPv6 /64) may hold open at once on one tcp proxy; more are reset at once and counted. 0 = no cap of its own. Default ${SERVER_DEFAULTS.maxVisitorsPerSource}.`),
  maxFlowsPerSource: z.int().min(0).max(65536).optional().describe(`Our key: UDP flows one source (an IPv4 address or an IPv6 /64) may hold at once on one udp proxy; its datagrams that would open more are dropped and counted. 0 = no cap of its own. Default ${SERVER_DEFAULTS.maxFlowsPerSource}.`),
  maxBufferedBytesPerClient: z.int().min(MIN_BUFFERED_BYTES).max(MAX_BUFFERED_BYTES).optional().describe(`Our key: bytes the relay holds for one client's streams, read from its visitors and not yet sent; past it a visitor is read only as fast as the client takes its bytes (the visitor slows down). Default ${SERVER_DEFAULTS.maxBufferedBytesPerClient} (16 MiB).`),
  ...vhostServerKeys,
  transport: z.strictObject({
    heartbeatTimeout: seconds().optional().describe(`Seconds of silence before a client session is closed; <= 0 disables. Default ${SERVER_DEFAULTS.heartbeatTimeout}.`),
    handshakeTimeout: z.int().min(1).max(3600).optional().describe(`Seconds from accept to the client's login (handshake and first record); then the connection is closed. Default ${SERVER_DEFAULTS.handshakeTimeout}.`),
    maxClockSkew: z.int().min(1).max(86400).optional().describe(`Seconds a client's clock may differ from the relay's. Default ${SERVER_DEFAULTS.maxClockSkew}.`),
    insecurePlaintext: z.boolean().optional().describe('true: no encryption after the handshake (benchmarks, trusted links only); clients must set the same. Default false.'),
    ...streamKeys('server'),
    ...ignoredAt('server', 'transport'),
  }).optional(),
  log: log('server').optional(),
  webServer: webServer('server').optional(),
  enablePrometheus: z.boolean().optional().describe('true: serve Prometheus metrics at /metrics on the admin API (needs webServer.port). Default false.'),
  ...ignoredAt('server', ''),
}).describe('frps.yml: the tunnel relay (frp v1 key names).')

/** frp's "1MB" / "500KB" per second; checked with a message naming what is wrong. */
const bandwidth = z.string().superRefine((value, ctx) => {
  const r = parseBandwidth(value)
  if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem })
})

const sourceList = z.array(z.string().refine(isCidr, { error: 'must be a CIDR like 10.0.0.0/8 or 2001:db8::/32, or a single IP address' })).max(MAX_SOURCE_RULES)

const proxy = z.strictObject({
  name: z.string().regex(PROXY_NAME).describe('Unique name: 1-64 of A-Z a-z 0-9 . _ -'),
  type: z.enum(['tcp', 'udp', 'http', 'https']).describe('tcp, udp, http (websites by Host on the relay\'s vhostHTTPPort) or https (by TLS server name on vhostHTTPSPort).'),
  enabled: z.boolean().optional().describe('false skips this proxy. Default true.'),
  localIP: z.string().min(1).optional().describe(`Address of the local service. Default ${CLIENT_DEFAULTS.localIP}.`),
  localPort: port(1).describe('Port of the local service.'),
  remotePort: port(0).optional().describe('tcp/udp: public port on the relay; 0 lets the relay pick. Default 0.'),
  idleTimeout: z.int().min(1).max(86400).optional().describe(`udp only: seconds without a datagram before a flow expires. Default ${CLIENT_DEFAULTS.udpIdleTimeout}.`),
  maxFlows: z.int().min(1).max(65536).optional().describe(`udp only: flows (visitor address + port) at once at most. Default ${CLIENT_DEFAULTS.udpMaxFlows}.`),
  transport: z.strictObject({
    proxyProtocolVersion: z.enum(['v1', 'v2']).optional().describe('Send the local service a PROXY protocol header with the visitor\'s address and the relay\'s public address: tcp and https: v1 (text) or v2 (binary) before any data; udp: v2 only, in front of every datagram (the service must expect it); not on http. Default: none.'),
    bandwidthLimit: bandwidth.optional().describe('frp\'s bandwidth limit per proxy: a number and KB or MB per second (1KB = 1024 bytes), like 500KB or 1MB. One budget for both directions and every visitor of the proxy together; 0 or absent = no limit. tcp, http, https: connections slow down; udp: datagrams over the limit are dropped (counted).'),
    bandwidthLimitMode: z.enum(['client', 'server']).optional().describe('Where bandwidthLimit applies: client (frp\'s default, on this client) or server (on the relay; tcp and udp only). Default client.'),
    ...ignoredAt('client', 'proxies[].transport'),
  }).optional(),
  maxVisitors: z.int().min(0).max(MAX_CONNECTIONS).optional().describe('Our key (frp has none), tcp only, enforced by the relay: visitor connections open at once on this proxy; more are closed at once (reset) and counted. 0 or absent = no cap of its own (the relay\'s maxConnections still applies).'),
  allowSources: sourceList.optional().describe('Our key (frp has none): visitor addresses the relay admits, as CIDRs (IPv4 or IPv6, e.g. 203.0.113.0/24, 2001:db8::/32) or single addresses. Empty or absent admits everyone. IPv4-mapped visitors match IPv4 rules.'),
  denySources: sourceList.optional().describe('Our key (frp has none): visitor addresses the relay refuses, as CIDRs or single addresses; wins over allowSources.'),
  ...vhostProxyKeys,
  ...ignoredAt('client', 'proxies[]'),
})

export const clientSchema = z.strictObject({
  serverAddr: z.string().min(1).optional().describe(`Relay address (bare IPv6 without brackets). Default ${CLIENT_DEFAULTS.serverAddr}.`),
  serverPort: port(1).optional().describe(`Relay port. Default ${CLIENT_DEFAULTS.serverPort}.`),
  user: z.string().optional().describe('Prefix for proxy names ({user}.{name}).'),
  clientID: z.string().optional().describe('Stable identity; default derived from user, host name and config path.'),
  loginFailExit: z.boolean().optional().describe(`true: exit when the first login fails for a network reason. Default ${CLIENT_DEFAULTS.loginFailExit}.`),
  auth: auth('client').extend(clientKeys).optional(),
  transport: z.strictObject({
    protocol: z.literal('tcp').optional().describe('Only tcp is supported.'),
    heartbeatInterval: seconds().optional().describe(`Seconds between pings; <= 0 disables. Default ${CLIENT_DEFAULTS.heartbeatInterval}.`),
    heartbeatTimeout: seconds().optional().describe(`Seconds of silence before reconnecting; <= 0 disables. Default ${CLIENT_DEFAULTS.heartbeatTimeout}.`),
    dialServerTimeout: z.int().min(1).max(3600).optional().describe(`Seconds to wait for the TCP connect. Default ${CLIENT_DEFAULTS.dialServerTimeout}.`),
    handshakeTimeout: z.int().min(1).max(3600).optional().describe(`Seconds to wait for the relay's handshake answer. Default ${CLIENT_DEFAULTS.handshakeTimeout}.`),
    insecurePlaintext: z.boolean().optional().describe('true: no encryption after the handshake (benchmarks, trusted links only); the relay must set the same. Default false.'),
    ...streamKeys('client'),
    ...ignoredAt('client', 'transport'),
  }).optional(),
  log: log('client').optional(),
  webServer: webServer('client').optional(),
  proxies: z.array(proxy).optional(),
  ...ignoredAt('client', ''),
}).describe('frpc.yml: a tunnel client (frp v1 key names).')

export type ServerInput = z.output<typeof serverSchema>
export type ClientInput = z.output<typeof clientSchema>

export function schemaFor (side: Side): z.ZodType {
  return side === 'server' ? serverSchema : clientSchema
}

/** The JSON Schema an editor uses (`# yaml-language-server: $schema=./frps.schema.json`). */
export function jsonSchemaFor (side: Side): Record<string, unknown> {
  const schema = z.toJSONSchema(schemaFor(side), { target: 'draft-07', io: 'input' }) as Record<string, unknown>
  // Top-level keys starting with '.' are dropped before validation (frp allows them for anchors).
  return { ...schema, title: side === 'server' ? 'frps.yml' : 'frpc.yml', patternProperties: { '^\\.': {} } }
}
