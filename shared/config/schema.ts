// The shapes of frps.yml and frpc.yml as zod 4 schemas: the single source for runtime checks,
// input types and the JSON Schemas in configs/. Key names are frp v1's. Defaults are applied
// afterwards (load.ts), so the schemas describe what a user may write, not what we fill in.

import { z } from 'zod'
import { parseBandwidth } from '../limit/index.js'
import { isHeaderValue, isSubdomainLabel, normalizeDomain, normalizeHostName, normalizeLocation } from '../http/index.js'
import { isIP } from 'node:net'
import { isCidr } from '../net/index.js'
import { MAX_STREAMS_LIMIT } from '../mux/index.js'
import { MAX_SOURCE_RULES, SECRET_LIMITS, VHOST_LIMITS } from '../wire/index.js'
import { CLIENT_DEFAULTS, SERVER_DEFAULTS } from './types.js'
import { groupClientKeys, groupProxyKeys, groupServerKeys } from './group-schema.js'
import { pluginSchema } from './plugin-schema.js'
import { tokenSourceSchema } from './token-source-schema.js'

export type Side = 'server' | 'client'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
/**
 * Characters a proxy name may have at most (UTF-16 code units, as String.length counts them).
 * frp accepts any non-empty name ("Wake On Lan", "L4D2节点0"), and so do we: logs, metrics and
 * the status table escape what they show; the bound keeps `{user}.{name}` within the wire's.
 */
export const MAX_CONFIG_PROXY_NAME_CHARS = 64
/** frp's proxy name rule: any non-empty text, bounded (MAX_CONFIG_PROXY_NAME_CHARS). */
export const PROXY_NAME = /^[\s\S]{1,64}$/
/** Keys whose values are secrets: their values never appear in messages. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'password', 'secretKey', 'clientSecret', 'httpPassword', 'privateKey', 'clientKey', 'proxyURL', 'groupKey'])
/** Entries of auth.clientKeys at most. */
export const MAX_CLIENT_KEYS = 10_000
/** A fleet relay's nodeName: like a proxy name. */
export const FLEET_NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/
/** An etcd client URL: http(s)://host:port (IPv6 in brackets). */
export const FLEET_ENDPOINT = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/
/** etcd endpoints one relay lists at most. */
export const MAX_FLEET_ENDPOINTS = 16
/** Relays one client lists in fleet.servers at most. */
export const MAX_FLEET_SERVERS = 64
/** Control connections one client keeps to a fleet at most. */
export const MAX_FLEET_CONNECTIONS = 8

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

const stringMap = z.record(z.string(), z.string())

export const FRP_KEYS: readonly FrpKey[] = [
  ignore(BOTH, 'webServer.assetsDir', z.string(), 'there is no web dashboard; the admin API serves JSON and metrics only'),
  ignore(BOTH, 'webServer.pprofEnable', z.boolean(), 'Go profiling does not apply; profile with node --cpu-prof or --inspect'),
  ignore(BOTH, 'transport.tcpMux', z.boolean(), 'the control connection always multiplexes streams'),
  ignore(BOTH, 'transport.tcpMuxKeepaliveInterval', seconds(), 'liveness is checked by transport.heartbeatTimeout'),
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
  ignore(SERVER, 'natholeAnalysisDataReserveHours', z.int(), 'the relay keeps no history of punch attempts; each client reports its own (tunnel status, tunnel diag nat)'),
  ignore(CLIENT, 'visitors[].protocol', z.string(), 'the punched path always carries udx (reliable UDP streams) under the encrypted mux, whatever frp\'s quic or kcp setting'),
  ignore(BOTH, 'udpPacketSize', z.int(), 'datagrams are never cut: each travels whole, up to 65,527 bytes'),
  ignore(CLIENT, 'proxies[].annotations', stringMap, 'there is no dashboard to show them'),
  ignore(CLIENT, 'proxies[].transport.useEncryption', z.boolean(), 'every stream rides the encrypted control connection'),
  ignore(CLIENT, 'proxies[].transport.useCompression', z.boolean(), 'compression is not offered'),
  // Relay keys that only add a listener this tunnel does not have: the rest of the file runs.
  ignore(SERVER, 'kcpBindPort', port(0), 'not supported, this listener is not opened (clients connect over tcp to bindPort)'),
  ignore(SERVER, 'quicBindPort', port(0), 'not supported, this listener is not opened (clients connect over tcp to bindPort)'),
  ignore(SERVER, 'sshTunnelGateway', z.looseObject({ bindPort: port(0).optional() }), 'not supported, this listener is not opened (the ssh tunnel gateway)'),
  // frp reads auth.oidc only with auth.method oidc, which is refused (validate.ts says why).
  ignore(BOTH, 'auth.oidc', z.looseObject({}), 'auth.method is token, so it is never read (frp ignores it then too)'),
  ignore(CLIENT, 'visitors[].transport.useEncryption', z.boolean(), 'every visit rides the encrypted control connection (the relay sees the bytes, as for every proxy: see docs/security.md)'),
  ignore(CLIENT, 'visitors[].transport.useCompression', z.boolean(), 'compression is not offered'),
  ...refuse(CLIENT, ['visitors[].plugin'], 'frp\'s only visitor plugin is virtual_net (its experimental virtual network: not supported, a visitor with it is not started); connect to bindAddr:bindPort'),
  ...refuse(CLIENT, ['start'], 'remove it and set `enabled: false` on proxies that should not run'),
  ...refuse(CLIENT, ['dnsServer'], 'the system resolver is used; remove it'),
  // frp's experimental virtual network: its proxies and visitors are not started (virtual-net.ts warns), the rest runs.
  ignore(CLIENT, 'featureGates', z.record(z.string(), z.boolean()), 'frp\'s experimental features (VirtualNet) are not supported'),
  ignore(CLIENT, 'virtualNet', z.looseObject({ address: z.string().optional() }), 'virtual_net is frp\'s experimental virtual network: not supported, proxies and visitors with the virtual_net plugin are not started'),
  ...refuse(BOTH, ['webServer.tls'], 'the admin API speaks plain HTTP: keep it on loopback, or put a TLS proxy in front of it'),
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
  token: z.string().optional().describe('Shared secret; must match on both sides. Use {{ .Envs.NAME }} or tokenSource to keep it out of the file.'),
  tokenSource: tokenSourceSchema.optional(),
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
  customDomains: z.array(domain).max(VHOST_LIMITS.domains).optional().describe('http/https/tcpmux: domains served by this proxy (www.example.com, *.example.com, or * for every other name).'),
  subdomain: z.string().refine(isSubdomainLabel, { error: 'must be one label (letters, digits, -), without dots or *' }).optional().describe('http/https/tcpmux: served as {subdomain}.{the relay\'s subDomainHost}.'),
  locations: z.array(location).max(VHOST_LIMITS.locations).optional().describe('http only: path prefixes served by this proxy; the longest matching one wins. Default: every path.'),
  hostHeaderRewrite: z.string().max(VHOST_LIMITS.domainChars).optional().describe('http only: the Host header the service gets instead of the visitor\'s.'),
  requestHeaders: headerSet.optional().describe('http only: `set:` headers (name: value) set on every request to the service.'),
  responseHeaders: headerSet.optional().describe('http only: `set:` headers (name: value) set on every response to the visitor.'),
  httpUser: z.string().max(VHOST_LIMITS.credentialChars).optional().describe('http and tcpmux: basic-auth user the relay asks visitors for (tcpmux: in Proxy-Authorization).'),
  httpPassword: z.string().max(VHOST_LIMITS.credentialChars).optional().describe('http and tcpmux: basic-auth password (secret; use {{ .Envs.NAME }}).'),
}

// The relay's STUN server (our keys: frp's relay has none; xtcp clients use it to learn their
// public address and how their NAT maps and filters).
const stunServerKeys = {
  stunBindPort: port(0).optional().describe('Our key: the UDP port of the relay\'s STUN server (RFC 8489 Binding), which xtcp clients ask for their public address. Default: the same number as bindPort (on UDP); 0 turns it off.'),
  stunAltPort: port(0).optional().describe('Our key: the second UDP port of the STUN server (RFC 5780 OTHER-ADDRESS), from which clients learn whether their NAT maps per destination and answers from another port (filtering). Default 0: a free port picked at start.'),
}

// Transports (issue 18): how the control connection is carried. frp's keys, plus our websocket block.
const pemFile = (what: string): z.ZodOptional<z.ZodString> => z.string().min(1).optional().describe(`${what} (PEM). Relative to this file's directory.`)
const serverTransportKeys = {
  tls: z.strictObject({
    force: z.boolean().optional().describe('true: accept only clients that speak TLS (transport.tls.enable or wss on the client). Default false; a trustedCaFile implies true, as in frp.'),
    certFile: pemFile('The certificate the relay shows to TLS clients; default: a self-signed one made at each start'),
    keyFile: pemFile('The private key of certFile'),
    trustedCaFile: pemFile('Clients must show a certificate signed by this CA (mutual TLS; transport.tls.certFile/keyFile on the client)'),
  }).optional().describe('An outer TLS layer under the relay\'s own handshake, for clients that ask for it (frp\'s keys). The relay tells TLS from its raw handshake and from WebSocket by the first bytes, on the same port.'),
  websocket: z.strictObject({
    enable: z.boolean().optional().describe('Our key: accept WebSocket clients (GET /~!frp with Upgrade, as frp) on bindPort. Default true.'),
    trustedProxies: z.array(z.string().refine(isCidr, { error: 'must be a CIDR like 10.0.0.0/8 or a single IP address' })).max(MAX_SOURCE_RULES).optional().describe('Our key: reverse proxies (CIDRs or addresses) whose X-Forwarded-For header names the client\'s address for the handshake limits and logs. Default none: the TCP peer is the source.'),
    bindPort: port(0).optional().describe('Our key: a second port for clients with everything bindPort accepts (raw, TLS, WebSocket), e.g. the port a reverse proxy forwards to. 0 or absent: none.'),
  }).optional().describe('WebSocket clients (transport.protocol websocket or wss), directly or behind a reverse proxy such as nginx.'),
}
const clientTransportKeys = {
  protocol: z.enum(['tcp', 'websocket', 'wss']).optional().describe('How the control connection travels: tcp (default), websocket (an HTTP Upgrade to /~!frp, through reverse proxies and CDNs) or wss (WebSocket inside TLS). frp\'s kcp and quic are not supported.'),
  tls: z.strictObject({
    enable: z.boolean().optional().describe('true: an outer TLS layer under the handshake, so the connection looks like HTTPS (inside the WebSocket with protocol websocket; wss always has TLS). Default false: our handshake already encrypts and authenticates (frp\'s default is true).'),
    certFile: pemFile('A client certificate, for a relay whose transport.tls.trustedCaFile asks for one'),
    keyFile: pemFile('The private key of certFile'),
    trustedCaFile: pemFile('Check the relay\'s certificate against this CA and serverName; default: not checked (as frp), auth.serverKey authenticates the relay'),
    serverName: z.string().min(1).max(253).optional().describe('The name sent in TLS SNI and checked in the certificate. Default: serverAddr.'),
    disableCustomTLSFirstByte: z.boolean().optional().describe('false: send frp\'s marker byte 0x17 before the TLS ClientHello. Default true (a plain ClientHello, as HTTPS).'),
  }).optional().describe('An outer TLS layer under the handshake (frp\'s keys).'),
  proxyURL: z.string().min(1).optional().describe('Reach the relay through a proxy: http://[user:password@]host:port (CONNECT), https://... (CONNECT inside TLS to the proxy) or socks5://[user:password@]host:port. Default: the environment\'s http_proxy / HTTP_PROXY (https_proxy first for wss), unless NO_PROXY names the relay.'),
}

// The relay fleet (our keys; frp has none): relays that share ownership of client ids, proxy
// names, public ports and domains through etcd. Absent = a single relay, no store.
const fleetServer = z.strictObject({
  nodeName: z.string().regex(FLEET_NODE_NAME).optional().describe('Our key: this relay\'s name in the fleet, unique among its relays: 1-64 of A-Z a-z 0-9 . _ -. Default: the host name.'),
  advertiseAddr: z.string().min(1).max(255).describe('Our key (required): host:port other relays and operators use to reach this relay; published in the store with the relay\'s liveness.'),
  etcd: z.strictObject({
    endpoints: z.array(z.string().refine((e) => FLEET_ENDPOINT.test(e), { error: 'must be an http:// or https:// URL with host and port, like https://10.0.0.5:2379' })).min(1).max(MAX_FLEET_ENDPOINTS).describe('Our key (required): the etcd cluster\'s client URLs (http://host:port or https://host:port).'),
    prefix: z.string().regex(/^\/[A-Za-z0-9._/-]{0,127}$/).optional().describe(`Our key: the key prefix every key of this fleet lives under, so several fleets share one etcd. Default ${SERVER_DEFAULTS.fleetPrefix}.`),
    caFile: z.string().min(1).optional().describe('Our key: PEM file of the CA that signed etcd\'s server certificate (https endpoints; default: the system\'s CAs).'),
    certFile: z.string().min(1).optional().describe('Our key: PEM client certificate this relay presents to etcd (client-cert auth); needs keyFile.'),
    keyFile: z.string().min(1).optional().describe('Our key: PEM private key of certFile (secret file: keep it readable by the relay only).'),
    requestTimeout: z.int().min(1).max(60).optional().describe(`Our key: seconds a store request may take before the registration that needs it is refused (TUN_FLEET_UNAVAILABLE). Default ${SERVER_DEFAULTS.fleetRequestTimeout}.`),
  }).describe('Our key: the etcd cluster the fleet shares.'),
}).optional().describe('Our key (frp has none): join a relay fleet that shares ownership through etcd. Absent: a single relay, nothing is stored anywhere.')
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
  ...stunServerKeys,
  transport: z.strictObject({
    heartbeatTimeout: seconds().optional().describe(`Seconds of silence before a client session is closed; <= 0 disables. Default ${SERVER_DEFAULTS.heartbeatTimeout}.`),
    handshakeTimeout: z.int().min(1).max(3600).optional().describe(`Seconds from accept to the client's login (handshake and first record); then the connection is closed. Default ${SERVER_DEFAULTS.handshakeTimeout}.`),
    maxClockSkew: z.int().min(1).max(86400).optional().describe(`Seconds a client's clock may differ from the relay's. Default ${SERVER_DEFAULTS.maxClockSkew}.`),
    insecurePlaintext: z.boolean().optional().describe('true: no encryption after the handshake (benchmarks, trusted links only); clients must set the same. Default false.'),
    ...serverTransportKeys,
    ...streamKeys('server'),
    ...ignoredAt('server', 'transport'),
  }).optional(),
  log: log('server').optional(),
  webServer: webServer('server').optional(),
  enablePrometheus: z.boolean().optional().describe('true: serve Prometheus metrics at /metrics on the admin API (needs webServer.port). Default false.'),
  ...groupServerKeys,
  fleet: fleetServer,
  ...ignoredAt('server', ''),
}).describe('frps.yml: the tunnel relay (frp v1 key names).')

/** frp's "1MB" / "500KB" per second; checked with a message naming what is wrong. */
const bandwidth = z.string().superRefine((value, ctx) => {
  const r = parseBandwidth(value)
  if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem })
})

const sourceList = z.array(z.string().refine(isCidr, { error: 'must be a CIDR like 10.0.0.0/8 or 2001:db8::/32, or a single IP address' })).max(MAX_SOURCE_RULES)

// Secret proxies (stcp, sudp) and the visitors that reach them (frp's keys).
const secretProxyKeys = {
  secretKey: z.string().optional().describe('stcp/sudp/xtcp (required there): the secret a visitor must know. It never leaves this client: the relay gets a key derived from it and checks proofs, never the secret. Use 20 or more random characters; secret: use {{ .Envs.NAME }}.'),
  allowUsers: z.array(z.string().min(1).max(SECRET_LIMITS.userChars)).max(SECRET_LIMITS.allowUsers).optional().describe('stcp/sudp/xtcp: the users whose visitors may come ("*" = any user). Empty or absent: only visitors with this client\'s own user (frp\'s rule).'),
}

// xtcp proxies and visitors: frp's natTraversal block (secret-checks.ts refuses it on other types).
const natTraversalKeys = {
  natTraversal: z.strictObject({
    disableAssistedAddrs: z.boolean().optional().describe('xtcp: true offers the peer only the addresses the STUN server saw (this side\'s public mapping, and predicted ports behind a symmetric NAT), not this machine\'s own interface addresses (frp\'s "assisted addresses"): for a machine whose interfaces include slow VPN or private addresses the peer cannot reach anyway. Two machines on one LAN then meet through their NAT (hairpinning) or the relay. Default false.'),
  }).optional().describe('xtcp only (frp\'s key): how this side offers its addresses for punching.'),
}

const proxy = z.strictObject({
  name: z.string().min(1).max(MAX_CONFIG_PROXY_NAME_CHARS).describe(`Unique name: any text of 1-${MAX_CONFIG_PROXY_NAME_CHARS} characters (as in frp; spaces and any script allowed).`),
  type: z.enum(['tcp', 'udp', 'http', 'https', 'tcpmux', 'stcp', 'sudp', 'xtcp']).describe('tcp, udp, http (websites by Host on the relay\'s vhostHTTPPort), https (by TLS server name on vhostHTTPSPort), tcpmux (TCP services by HTTP CONNECT host on tcpmuxHTTPConnectPort), stcp or sudp (secret: no public port; reached through a visitor that knows secretKey), xtcp (secret, peer to peer: the visitor connects directly through a punched UDP path).'),
  enabled: z.boolean().optional().describe('false skips this proxy. Default true.'),
  localIP: z.string().min(1).optional().describe(`Address of the local service. Default ${CLIENT_DEFAULTS.localIP}.`),
  localPort: port(1).optional().describe('Port of the local service; required unless the proxy has a plugin.'),
  remotePort: port(0).optional().describe('tcp/udp: public port on the relay; 0 lets the relay pick. Default 0.'),
  idleTimeout: z.int().min(1).max(86400).optional().describe(`udp only: seconds without a datagram before a flow expires. Default ${CLIENT_DEFAULTS.udpIdleTimeout}.`),
  maxFlows: z.int().min(1).max(65536).optional().describe(`udp only: flows (visitor address + port) at once at most. Default ${CLIENT_DEFAULTS.udpMaxFlows}.`),
  transport: z.strictObject({
    proxyProtocolVersion: z.enum(['v1', 'v2']).optional().describe('Send the local service a PROXY protocol header with the visitor\'s address and the relay\'s public address: tcp, https and http: v1 (text) or v2 (binary) before any data (http: each connection to the service carries the requests of that one visitor); udp: v2 only, in front of every datagram (the service must expect it). Default: none.'),
    bandwidthLimit: bandwidth.optional().describe('frp\'s bandwidth limit per proxy: a number and KB or MB per second (1KB = 1024 bytes), like 500KB or 1MB. One budget for both directions and every visitor of the proxy together; 0 or absent = no limit. tcp, http, https: connections slow down; udp: datagrams over the limit are dropped (counted).'),
    bandwidthLimitMode: z.enum(['client', 'server']).optional().describe('Where bandwidthLimit applies: client (frp\'s default, on this client) or server (on the relay; tcp and udp only). Default client.'),
    ...ignoredAt('client', 'proxies[].transport'),
  }).optional(),
  maxVisitors: z.int().min(0).max(MAX_CONNECTIONS).optional().describe('Our key (frp has none), tcp only, enforced by the relay: visitor connections open at once on this proxy; more are closed at once (reset) and counted. 0 or absent = no cap of its own (the relay\'s maxConnections still applies).'),
  allowSources: sourceList.optional().describe('Our key (frp has none): visitor addresses the relay admits, as CIDRs (IPv4 or IPv6, e.g. 203.0.113.0/24, 2001:db8::/32) or single addresses. Empty or absent admits everyone. IPv4-mapped visitors match IPv4 rules.'),
  denySources: sourceList.optional().describe('Our key (frp has none): visitor addresses the relay refuses, as CIDRs or single addresses; wins over allowSources.'),
  ...vhostProxyKeys,
  ...groupProxyKeys,
  ...secretProxyKeys,
  ...natTraversalKeys,
  plugin: pluginSchema.optional(),
  ...ignoredAt('client', 'proxies[]'),
})

/** Bounds of the xtcp visitor keys. */
const MAX_PUNCH_RETRIES_AN_HOUR = 3600
const MAX_FALLBACK_TIMEOUT_MS = 60_000

// xtcp visitors (peer to peer): frp's keys.
const xtcpVisitorKeys = {
  keepTunnelOpen: z.boolean().optional().describe('xtcp: true keeps the direct path up (punched at start, kept warm, punched again when it dies); false punches on the first connection and lets the path go when idle. Default false.'),
  maxRetriesAnHour: z.int().min(0).max(MAX_PUNCH_RETRIES_AN_HOUR).optional().describe(`xtcp: punch attempts an hour at most; past them connections use fallbackTo (or are refused) until the hour has room. Default ${CLIENT_DEFAULTS.xtcpMaxRetriesAnHour}.`),
  minRetryInterval: z.int().min(0).max(3600).optional().describe(`xtcp: seconds between two punch attempts after one failed. Default ${CLIENT_DEFAULTS.xtcpMinRetryInterval}.`),
  fallbackTo: z.string().regex(PROXY_NAME).optional().describe('xtcp: the name of an stcp visitor (bindPort -1 is usual) that takes the connections when no direct path is up within fallbackTimeoutMs: they go through the relay instead.'),
  fallbackTimeoutMs: z.int().min(0).max(MAX_FALLBACK_TIMEOUT_MS).optional().describe(`xtcp: how long a connection waits for the direct path before it goes to fallbackTo. Default ${CLIENT_DEFAULTS.xtcpFallbackTimeoutMs}.`),
}

// The visitors that reach secret proxies (frp's keys).
const visitor = z.strictObject({
  name: z.string().min(1).max(MAX_CONFIG_PROXY_NAME_CHARS).describe(`Unique name among the visitors: any text of 1-${MAX_CONFIG_PROXY_NAME_CHARS} characters.`),
  type: z.enum(['stcp', 'sudp', 'xtcp']).describe('stcp (a TCP port), sudp (a UDP port) or xtcp (a TCP port, peer to peer); must match the secret proxy\'s type.'),
  enabled: z.boolean().optional().describe('false skips this visitor. Default true.'),
  serverName: z.string().min(1).max(MAX_CONFIG_PROXY_NAME_CHARS).describe('The name of the secret proxy to reach, as its frpc.yml names it.'),
  serverUser: z.string().max(SECRET_LIMITS.userChars).optional().describe('The user of the client that has the proxy. Default: this client\'s own user.'),
  secretKey: z.string().optional().describe('The proxy\'s secretKey (required). Secret: use {{ .Envs.NAME }}.'),
  bindAddr: z.string().min(1).optional().describe(`Where the visitor listens for local applications. Default ${CLIENT_DEFAULTS.visitorBindAddr}.`),
  bindPort: z.int().min(-1).max(65535).describe('The port local applications connect to (required). -1 (stcp): no listener.'),
  transport: z.strictObject({
    ...ignoredAt('client', 'visitors[].transport'),
  }).optional(),
  ...xtcpVisitorKeys,
  ...natTraversalKeys,
  ...ignoredAt('client', 'visitors[]'),
})
// frpc's includes (frp's key): files whose proxies and visitors join this file's (includes.ts).
/** Patterns in `includes` at most. */
export const MAX_INCLUDE_PATTERNS = 64
const includeKeys = {
  includes: z.array(z.string().min(1)).max(MAX_INCLUDE_PATTERNS).optional().describe('Files whose proxies (and visitors) are added to this file\'s, as in frp: paths or patterns with * ? [a-z] in the file name (./confd/*.yml), relative to this file\'s folder; YAML, TOML or JSON by extension. Re-read on reload.'),
}

// A client of a relay fleet (our keys; frp has none): several control connections to different relays.
const fleetClient = z.strictObject({
  servers: z.array(z.string().min(1).max(255)).max(MAX_FLEET_SERVERS).optional().describe(`Our key: the fleet's relays as host:port (IPv6 in brackets). Empty or absent: every address serverAddr resolves to, at serverPort.`),
  connections: z.int().min(1).max(MAX_FLEET_CONNECTIONS).optional().describe(`Our key: control connections kept at once, each to a different relay (fewer when fewer relays are known). Default ${CLIENT_DEFAULTS.fleetConnections}.`),
}).optional().describe('Our key (frp has none): attach to several relays of a fleet at once: every proxy is served by each of them (a tcp proxy with the same remotePort); when one relay goes, the others carry on while that connection moves to another relay.')
/** Length of natHoleStunServer at most (a host name and a port). */
const MAX_STUN_SERVER_CHARS = 262

export const clientSchema = z.strictObject({
  serverAddr: z.string().min(1).optional().describe(`Relay address (bare IPv6 without brackets). Default ${CLIENT_DEFAULTS.serverAddr}.`),
  serverPort: port(1).optional().describe(`Relay port. Default ${CLIENT_DEFAULTS.serverPort}.`),
  user: z.string().optional().describe('Prefix for proxy names ({user}.{name}).'),
  clientID: z.string().optional().describe('Stable identity; default derived from user, host name and config path.'),
  loginFailExit: z.boolean().optional().describe(`true: exit when the first login fails for a network reason. Default ${CLIENT_DEFAULTS.loginFailExit}.`),
  auth: auth('client').extend(clientKeys).optional(),
  transport: z.strictObject({
    heartbeatInterval: seconds().optional().describe(`Seconds between pings; <= 0 disables. Default ${CLIENT_DEFAULTS.heartbeatInterval}.`),
    heartbeatTimeout: seconds().optional().describe(`Seconds of silence before reconnecting; <= 0 disables. Default ${CLIENT_DEFAULTS.heartbeatTimeout}.`),
    dialServerTimeout: z.int().min(1).max(3600).optional().describe(`Seconds to wait for the TCP connect. Default ${CLIENT_DEFAULTS.dialServerTimeout}.`),
    handshakeTimeout: z.int().min(1).max(3600).optional().describe(`Seconds to wait for the relay's handshake answer. Default ${CLIENT_DEFAULTS.handshakeTimeout}.`),
    insecurePlaintext: z.boolean().optional().describe('true: no encryption after the handshake (benchmarks, trusted links only); the relay must set the same. Default false.'),
    connectServerLocalIP: z.string().refine((s) => isIP(unbracketed(s)) !== 0, { error: 'must be an IP address of this machine (IPv4, or IPv6 without a zone)' }).optional().describe('frp\'s key: the local address the connection to the relay (or to transport.proxyURL) leaves from, e.g. to pick one of several uplinks. Default: the system\'s choice.'),
    ...clientTransportKeys,
    ...streamKeys('client'),
    ...ignoredAt('client', 'transport'),
  }).optional(),
  log: log('client').optional(),
  webServer: webServer('client').optional(),
  proxies: z.array(proxy).optional(),
  ...groupClientKeys,
  visitors: z.array(visitor).optional().describe('Visitors of secret proxies (stcp, sudp, xtcp) of other clients: each listens on bindAddr:bindPort and reaches its proxy through the relay (xtcp: directly when a path can be punched), proving it knows the secretKey.'),
  natHoleStunServer: z.string().min(1).max(MAX_STUN_SERVER_CHARS).optional().describe('frp\'s key: host:port of the STUN server xtcp uses to learn this client\'s public address. Default: the relay itself (its STUN server on UDP serverPort).'),
  ...includeKeys,
  store: z.strictObject({
    path: z.string().min(1).describe('The JSON file of proxies and visitors that the admin API\'s /api/store/* endpoints manage (created on the first change, mode 600). Relative to this file\'s directory.'),
  }).optional().describe('frp\'s Store API: proxies and visitors added, changed and removed at run time over the admin API (needs webServer.port and credentials), kept in a file and joined to this config at start and on reload.'),
  fleet: fleetClient,
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

/** An address as written, without the brackets of `[::1]`. */
function unbracketed (s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
}
