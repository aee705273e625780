// The shapes of frps.yml and frpc.yml after loading and defaults, with frp v1 key names.
// Durations keep frp's unit (seconds) so a value reads the same here as in the file.
import { DEFAULT_MAX_STREAMS } from '../mux/index.js'
import type { Secret } from '../secret.js'
import type { ProxyUrl } from './proxy-url.js'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

export interface LogConfig {
  level: LogLevel
}

/** An inclusive range of ports; `{ single: 5353 }` in the file becomes start = end = 5353. */
export interface PortRange {
  start: number
  end: number
}

/**
 * The admin API (frp's webServer block, plus our `token`): status, diagnostics, metrics and
 * (client) reload over HTTP. null when webServer.port is not set: the API is off.
 */
export interface AdminConfig {
  /** Default 127.0.0.1. A non-loopback address needs password or token (checked at load). */
  addr: string
  /** 0 = any free port (logged as `admin listening`). */
  port: number
  /** Basic auth user ('' allowed, as in frp). */
  user: string
  /** Basic auth password; '' = basic auth off. Secret: never logged. */
  password: string
  /** Bearer token (our key); '' = off. Secret: never logged. */
  token: string
}

/** One entry of the relay's auth.clientKeys. */
export interface ClientKeyRule {
  publicKey: Uint8Array
  /** Only with this user (frp's prefix); undefined = any. */
  user?: string
  /** Only as this clientID; undefined = any. */
  clientID?: string
}

export interface ServerConfig {
  /** The file the config came from, for messages ('<builtin>' for the demo). */
  source: string
  /** Where clients connect. Default '::' (dual-stack; falls back to 0.0.0.0 where IPv6 is off). */
  bindAddr: string
  /** Default 7000; 0 asks the OS for a free port (the bound port is logged). */
  bindPort: number
  /** Where public proxy listeners bind. Default: bindAddr. */
  proxyBindAddr: string
  auth: {
    method: 'token'
    token: string
    /** X25519 private key (auth.privateKey or auth.privateKeyFile); null = unpinned clients only. */
    privateKey: Secret | null
    /** auth.clientKeys: the client keys that may log in; empty = any client with the token. */
    clientKeys: ClientKeyRule[]
  }
  /** Empty means every port 1-65535. */
  allowPorts: PortRange[]
  /** 0 = unlimited. */
  maxPortsPerClient: number
  /** Our caps on what one client session holds (0 = none): proxies, http/https proxies, distinct domains, (domain, location) pairs. */
  maxProxiesPerClient: number
  maxVhostProxiesPerClient: number
  maxDomainsPerClient: number
  maxLocationsPerClient: number
  /** The same over all sessions of one login `user` (clients without user: per client only). */
  maxProxiesPerUser: number
  maxVhostProxiesPerUser: number
  maxDomainsPerUser: number
  maxLocationsPerUser: number
  /**
   * Seconds a client's proxy names and public ports (and domains) stay reserved for its key after
   * its session ends, so it gets them back when it reconnects (our key); 0 = none.
   */
  ownershipGrace: number
  /**
   * Visitor connections open at once over all tcp proxies (our key); 0 = derived from the fd
   * limit at start. The relay never goes above what its fd limit allows, whatever this says.
   */
  maxConnections: number
  /**
   * Visitor connections (tcp proxies and the vhost ports) one source may hold open at once over
   * the whole relay (our key); a source is an IPv4 address or an IPv6 /64. 0 = no cap of its own.
   */
  maxConnectionsPerSource: number
  /** Visitor connections one source may hold open at once on one tcp proxy (our key); 0 = no cap. */
  maxVisitorsPerSource: number
  /** UDP flows one source may hold at once on one udp proxy (our key); 0 = no cap. */
  maxFlowsPerSource: number
  /**
   * Bytes the relay holds for one client's streams, read from visitors and not yet sent (our
   * key): past it a visitor is read only as fast as the client returns credit.
   */
  maxBufferedBytesPerClient: number
  /** The STUN server's UDP port (our key); 0 = off; null (default) = the TCP listener's port number. */
  stunBindPort: number | null
  /** The STUN server's second UDP port (RFC 5780 OTHER-ADDRESS); 0 = a free port picked at start. */
  stunAltPort: number
  /** frp's vhostHTTPPort: the public port of http proxies (Host routing); 0 = none. */
  vhostHTTPPort: number
  /** frp's vhostHTTPSPort: the public port of https proxies (SNI routing, TLS passed through); 0 = none. */
  vhostHTTPSPort: number
  /** Seconds an http proxy's service has to send its response header. */
  vhostHTTPTimeout: number
  /** `subdomain` proxies are served as {subdomain}.{subDomainHost}; '' = subdomain not offered. */
  subDomainHost: string
  /** A file whose contents are the relay's 404 page (resolved against frps.yml's folder); null = built-in. */
  custom404Page: string | null
  transport: {
    /** Seconds without any frame from a client before its session is closed; <= 0 disables. */
    heartbeatTimeout: number
    /** Seconds from accept to the client's first record (the login); then the connection is closed. */
    handshakeTimeout: number
    /** Seconds a client's handshake timestamp may differ from the relay's clock. */
    maxClockSkew: number
    /** true: no encryption after the handshake (benchmarks, trusted links); both sides must agree. */
    insecurePlaintext: boolean
    /** Streams one client's session may hold open at once (our key); a source gets a quarter of them. */
    maxStreams: number
    /** frp's transport.tls block on the relay. */
    tls: ServerTlsConfig
    /** WebSocket clients (our keys). */
    websocket: ServerWebSocketConfig
  }
  log: LogConfig
  /** The admin API, or null when off. */
  webServer: AdminConfig | null
  /** frp's enablePrometheus: serve /metrics on the admin API. */
  enablePrometheus: boolean
  /** frp's tcpmuxHTTPConnectPort: the public port of tcpmux proxies (HTTP CONNECT routing); 0 = none. */
  tcpmuxHTTPConnectPort: number
  /** frp's tcpmuxPassthrough: the CONNECT request goes on to the service, which answers it. */
  tcpmuxPassthrough: boolean
  /** frp's httpPlugins: the operator's services asked before logins, proxies and visitors. */
  httpPlugins: HttpPluginConfig[]
  /** The relay fleet this relay belongs to (our keys), or null: a single relay, no store. */
  fleet: FleetConfig | null
}

/** frps.yml's `fleet:` block, completed. */
export interface FleetConfig {
  /** This relay's name among the fleet's relays (default: the host name). */
  nodeName: string
  /** host:port other relays and operators reach this relay at. */
  advertiseAddr: string
  etcd: {
    /** Client URLs of the etcd cluster. */
    endpoints: string[]
    /** Every key of the fleet lives under it (ends with '/'). */
    prefix: string
    /** PEM files (resolved against frps.yml's folder), or null. */
    caFile: string | null
    certFile: string | null
    keyFile: string | null
    /** Seconds one store request may take before what needs it is refused. */
    requestTimeout: number
  }
}

/** Visitor filtering the relay applies to a proxy (our keys; frp has none). CIDRs or addresses. */
export interface SourceRules {
  /** Empty admits everyone not denied. */
  allowSources: string[]
  /** Wins over allowSources. */
  denySources: string[]
}

/** frp's transport.bandwidthLimit / bandwidthLimitMode, parsed. */
export interface BandwidthRules {
  /** Bytes per second for both directions and every visitor together; 0 = no limit. */
  bandwidthLimit: number
  /** Where the limit applies: this client (frp's default) or the relay. */
  bandwidthLimitMode: 'client' | 'server'
}

export interface TcpProxyConfig extends SourceRules, BandwidthRules {
  name: string
  type: 'tcp'
  localIP: string
  localPort: number
  /** 0 asks the relay for a free port. */
  remotePort: number
  /** frp's transport.proxyProtocolVersion: a PROXY header to the local service, or null for none. */
  proxyProtocolVersion: 'v1' | 'v2' | null
  /** Visitor connections open at once, enforced by the relay (our key); 0 = no cap of its own. */
  maxVisitors: number
  /** frp's client plugin: takes the visitor streams instead of localIP:localPort; absent = none. */
  plugin?: PluginConfig
}

export interface UdpProxyConfig extends SourceRules, BandwidthRules {
  name: string
  type: 'udp'
  localIP: string
  localPort: number
  /** 0 asks the relay for a free port. */
  remotePort: number
  /** Seconds without a datagram (either way) before a flow expires (our key; frp has none). */
  idleTimeout: number
  /** Flows (visitor address + port) at once at most (our key; frp has none). */
  maxFlows: number
  /** A PROXY v2 header (SOCK_DGRAM) in front of every datagram to the local service, or null. */
  proxyProtocolVersion: 'v2' | null
}

/** What http and https proxies share: the domains they are served under (frp's keys). */
export interface VhostDomains {
  customDomains: string[]
  /** '' = none; served as {subdomain}.{the relay's subDomainHost}. */
  subdomain: string
}

export interface HttpProxyConfig extends SourceRules, VhostDomains, BandwidthRules {
  name: string
  type: 'http'
  localIP: string
  localPort: number
  /** Path prefixes (frp's locations); empty = every path. */
  locations: string[]
  /** '' = the Host the visitor sent. */
  hostHeaderRewrite: string
  /** requestHeaders.set / responseHeaders.set. */
  requestHeaders: Record<string, string>
  responseHeaders: Record<string, string>
  /** Basic auth the relay asks for; both '' = none. */
  httpUser: string
  httpPassword: Secret | null
  /** Only requests whose basic-auth user (Proxy-Authorization for absolute-form) is this one reach this proxy; '' = any user. */
  routeByHTTPUser: string
  /** A PROXY header naming the visitor on each connection to the service (its requests all come from that visitor). */
  proxyProtocolVersion: 'v1' | 'v2' | null
  /** frp's client plugin (static_file, http2https, ...); absent = none. */
  plugin?: PluginConfig
}

export interface HttpsProxyConfig extends SourceRules, VhostDomains, BandwidthRules {
  name: string
  type: 'https'
  localIP: string
  localPort: number
  proxyProtocolVersion: 'v1' | 'v2' | null
  /** frp's client plugin (https2http, https2https, ...); absent = none. */
  plugin?: PluginConfig
}

/** What stcp and sudp proxies share (frp's secret proxies): no public port on the relay. */
export interface SecretRules {
  /** frp's secretKey: what a visitor must know. Never sent: the relay gets a key derived from it. */
  secretKey: Secret
  /** frp's allowUsers: users whose visitors may come; '*' = any; empty = only this client's own user. */
  allowUsers: string[]
}

export interface StcpProxyConfig extends SourceRules, BandwidthRules, SecretRules {
  name: string
  type: 'stcp'
  localIP: string
  localPort: number
  /** A PROXY header to the local service (the visitor client's address as the relay sees it), or null. */
  proxyProtocolVersion: 'v1' | 'v2' | null
  /** Visits open at once, enforced by the relay (our key); 0 = no cap of its own. */
  maxVisitors: number
  /** frp's client plugin (socks5, http_proxy, ... behind the secret): takes the visits instead of localIP:localPort; absent = none. */
  plugin?: PluginConfig
}

export interface SudpProxyConfig extends SourceRules, BandwidthRules, SecretRules {
  name: string
  type: 'sudp'
  localIP: string
  localPort: number
  /** A PROXY v2 header (SOCK_DGRAM) in front of every datagram to the local service, or null. */
  proxyProtocolVersion: 'v2' | null
}

/** frp's xtcp: a secret proxy whose visitors try a direct (punched) path first. */
export interface XtcpProxyConfig extends SourceRules, BandwidthRules, SecretRules {
  name: string
  type: 'xtcp'
  localIP: string
  localPort: number
  /** No PROXY header: visitors come over the punched path, not through the relay. */
  proxyProtocolVersion: null
  /** Client plugins do not serve xtcp proxies (refused when the file loads). */
  plugin?: never
  /** frp's natTraversal.disableAssistedAddrs: offer visitors only the STUN-seen addresses, not this machine's own. */
  disableAssistedAddrs: boolean
}

export type ProxyConfig = (TcpProxyConfig | UdpProxyConfig | HttpProxyConfig | HttpsProxyConfig | TcpmuxProxyConfig | StcpProxyConfig | SudpProxyConfig | XtcpProxyConfig) & ProxyExtras

/** A visitor of another client's secret proxy (frp's `visitors:`). */
export interface VisitorConfig {
  name: string
  type: 'stcp' | 'sudp' | 'xtcp'
  /** The secret proxy's name in its frpc.yml. */
  serverName: string
  /** The user of the client that has the proxy; '' = this client's own user. */
  serverUser: string
  /** The proxy's secretKey: keys are derived from it, it never crosses the wire. */
  secretKey: Secret
  /** Where local applications connect. Default 127.0.0.1. */
  bindAddr: string
  /** The local port; < 0 (stcp): no listener. */
  bindPort: number
  /** xtcp (frp's keys; defaults elsewhere): keep the direct path up and punched again when it dies. */
  keepTunnelOpen: boolean
  /** xtcp: punch attempts an hour at most. */
  maxRetriesAnHour: number
  /** xtcp: seconds between two punch attempts after one failed. */
  minRetryInterval: number
  /** xtcp: the stcp visitor that takes connections when no direct path is up; '' = none (they are refused). */
  fallbackTo: string
  /** xtcp: ms a connection waits for the direct path before it goes to fallbackTo. */
  fallbackTimeoutMs: number
  /** xtcp: frp's natTraversal.disableAssistedAddrs: offer only the STUN-seen addresses, not this machine's own (absent = false). */
  disableAssistedAddrs?: boolean
}

// ---- client plugins (frp's `plugin:` block; shared/config/plugin-schema.ts has the keys) ----

/** Basic (or RFC 1929) credentials a plugin asks visitors for; null = none (an open proxy). */
export interface PluginCredentials {
  user: string
  password: Secret
}

/** A TLS certificate and key read from crtPath/keyPath at load, or null: self-signed at start. */
export interface PluginCertificate {
  /** The files, resolved against the config file's folder (for messages). */
  crtPath: string
  keyPath: string
  cert: Buffer
  key: Secret
}

/** Where the http2http, http2https, https2http, https2https and tls2raw plugins send what they receive (frp's localAddr). */
export interface PluginUpstream {
  host: string
  port: number
}

export interface PluginRewrite {
  /** '' = the Host the visitor sent. */
  hostHeaderRewrite: string
  /** requestHeaders.set. */
  requestHeaders: Record<string, string>
}

export type PluginConfig =
  | { type: 'http_proxy', credentials: PluginCredentials | null }
  | { type: 'socks5', credentials: PluginCredentials | null }
  | { type: 'static_file', localPath: string, stripPrefix: string, credentials: PluginCredentials | null }
  | { type: 'unix_domain_socket', unixPath: string }
  | ({ type: 'http2http' | 'http2https', localAddr: PluginUpstream } & PluginRewrite)
  | ({ type: 'https2http' | 'https2https', localAddr: PluginUpstream, certificate: PluginCertificate | null, enableHTTP2: boolean } & PluginRewrite)
  | { type: 'tls2raw', localAddr: PluginUpstream, certificate: PluginCertificate | null }


export interface ClientConfig {
  source: string
  serverAddr: string
  serverPort: number
  /** frp's `user`: proxy names are registered as `{user}.{name}` when set. */
  user: string
  /** Stable identity of this client; a new session with the same id replaces the old one. */
  clientID: string
  /** true: a first login that fails for a network reason exits 1 instead of retrying. */
  loginFailExit: boolean
  auth: {
    method: 'token'
    token: string
    /** The relay's X25519 public key (auth.serverKey); null = not pinned (INpsk1, warned). */
    serverKey: Uint8Array | null
    /** This client's private key given inline (auth.clientKey), else null. */
    clientKey: Secret | null
    /** Where the client key lives (auth.clientKeyFile, resolved), or null for the default state file. */
    clientKeyFile: string | null
  }
  transport: {
    /** Seconds between pings on the control connection; <= 0 disables them. */
    heartbeatInterval: number
    /** Seconds without any frame from the relay before reconnecting; <= 0 disables. */
    heartbeatTimeout: number
    /** Seconds to wait for the TCP connect to the relay. */
    dialServerTimeout: number
    /** Seconds to wait for the relay's handshake answer. */
    handshakeTimeout: number
    /** true: no encryption after the handshake; must match the relay. */
    insecurePlaintext: boolean
    /** Streams the relay may open to this client at once (our key); more are refused with a reset. */
    maxStreams: number
    /** frp's connectServerLocalIP: the local address the TCP connection to the relay (or proxy) leaves from; null = the system's choice. */
    connectServerLocalIP: string | null
    /** frp's transport.protocol: how the control connection is carried (kcp and quic are refused at load). */
    protocol: ClientProtocol
    /** frp's transport.tls block. */
    tls: ClientTlsConfig
    /** frp's transport.proxyURL, else the environment's proxy (http_proxy, ...); null = direct. */
    proxyURL: ProxyUrl | null
  }
  log: LogConfig
  proxies: ProxyConfig[]
  /** Visitors of other clients' secret proxies (stcp, sudp, xtcp). */
  visitors: VisitorConfig[]
  /** frp's natHoleStunServer: host:port of the STUN server xtcp asks; '' = the relay's own (UDP serverPort). */
  natHoleStunServer: string
  /** The admin API (status, diag, metrics, reload), or null when off. */
  webServer: AdminConfig | null
  /** frp's metadatas: sent with the login to the relay's plugins; absent = none. */
  metadatas?: Record<string, string>
  /** Attached to several relays of a fleet (our keys), or null: one connection to serverAddr. */
  fleet: ClientFleetConfig | null
  /** frp's store.path, resolved: the file the admin API's /api/store/* endpoints keep proxies and visitors in; null without one. */
  store: string | null
}

/** frpc.yml's `fleet:` block, completed. */
export interface ClientFleetConfig {
  /** The relays as host:port; empty = every address serverAddr resolves to, at serverPort. */
  servers: Array<{ host: string, port: number }>
  /** Control connections at once, each to a different relay. */
  connections: number
}

// ------------------------------------------------------------------ transports (issue 18)

/** tcp: the handshake on the TCP connection; websocket: inside a WebSocket (ws://); wss: inside a WebSocket inside TLS. */
export type ClientProtocol = 'tcp' | 'websocket' | 'wss'

/**
 * frp's transport.tls on a client: an outer TLS layer under the Noise handshake. Files are
 * resolved against frpc.yml's folder; null = not set.
 */
export interface ClientTlsConfig {
  /** TLS around the control connection (inside the WebSocket for websocket; wss always has TLS). Default false (ours; frp's is true). */
  enable: boolean
  /** A client certificate and its key, for a relay that asks for one (its trustedCaFile). */
  certFile: string | null
  keyFile: string | null
  /** The relay's certificate must chain to this CA and name serverName; null = not checked (frp's default). */
  trustedCaFile: string | null
  /** The name sent in SNI and checked in the certificate; '' = serverAddr when it is a name. */
  serverName: string
  /** false: send frp's marker byte 0x17 before the ClientHello. Default true (frp's). */
  disableCustomTLSFirstByte: boolean
}

/** frp's transport.tls on the relay. */
export interface ServerTlsConfig {
  /** Only clients that speak TLS are accepted (a trustedCaFile implies it, as in frp). */
  force: boolean
  /** The certificate the relay shows; null = a self-signed one (frp does the same), made with the first TLS client. */
  certFile: string | null
  keyFile: string | null
  /** Clients must show a certificate from this CA (mutual TLS); null = none asked. */
  trustedCaFile: string | null
}

/** WebSocket clients on the relay (our keys; frp always accepts them on bindPort). */
export interface ServerWebSocketConfig {
  /** Accept WebSocket clients (GET /~!frp with Upgrade) on bindPort. Default true. */
  enable: boolean
  /**
   * Reverse proxies (CIDRs or addresses) whose X-Forwarded-For names the client's address for
   * the handshake limits and logs. Empty (default): the TCP peer is the source, always.
   */
  trustedProxies: string[]
  /** A second port for clients, with everything bindPort accepts (for a front end that reaches only it); 0 = none. */
  bindPort: number
}

export const SERVER_DEFAULTS = {
  bindAddr: '::',
  bindPort: 7000,
  maxConnectionsPerSource: 4096,
  maxVisitorsPerSource: 1024,
  maxFlowsPerSource: 1024,
  maxBufferedBytesPerClient: 16 * 1024 * 1024,
  vhostHTTPTimeout: 60,
  maxProxiesPerClient: 1024,
  maxVhostProxiesPerClient: 256,
  maxDomainsPerClient: 256,
  maxLocationsPerClient: 1024,
  maxProxiesPerUser: 4096,
  maxVhostProxiesPerUser: 1024,
  maxDomainsPerUser: 1024,
  maxLocationsPerUser: 4096,
  heartbeatTimeout: 90,
  handshakeTimeout: 10,
  maxClockSkew: 60,
  ownershipGrace: 60,
  fleetPrefix: '/tunnel/',
  fleetRequestTimeout: 3,
  maxStreams: DEFAULT_MAX_STREAMS,
  logLevel: 'info',
  adminAddr: '127.0.0.1',
} as const

export const CLIENT_DEFAULTS = {
  serverAddr: '127.0.0.1',
  serverPort: 7000,
  localIP: '127.0.0.1',
  heartbeatInterval: 10,
  heartbeatTimeout: 40,
  dialServerTimeout: 10,
  handshakeTimeout: 10,
  loginFailExit: false,
  logLevel: 'info',
  /** RFC 4787 asks NATs for at least 2 minutes; Linux conntrack uses 120 s for UDP streams. */
  udpIdleTimeout: 120,
  udpMaxFlows: 4096,
  maxStreams: DEFAULT_MAX_STREAMS,
  adminAddr: '127.0.0.1',
  /** frp's default: visitors listen on loopback only. */
  visitorBindAddr: '127.0.0.1',
  fleetConnections: 2,
  /** frp's default punch attempts an hour of an xtcp visitor. */
  xtcpMaxRetriesAnHour: 8,
  /** frp's default seconds between punch attempts after a failure. */
  xtcpMinRetryInterval: 90,
  /** Our default wait for the direct path before a connection falls back (frp has none). */
  xtcpFallbackTimeoutMs: 2000,
} as const

// ---- load-balancing groups, health checks, tcpmux and relay plugins (issue 17) ----

/** frp's proxy healthCheck block: the client checks the local service and takes the proxy out while it fails. */
export interface HealthCheckConfig {
  type: 'tcp' | 'http'
  /** Seconds one check may take. */
  timeoutSeconds: number
  /** Failures in a row that take a healthy proxy out. */
  maxFailed: number
  /** Seconds between the end of one check and the start of the next. */
  intervalSeconds: number
  /** http: the path asked for with GET (a 2xx answer passes); '' for tcp. */
  path: string
  /** http: headers sent with the check (a Host header sets the request's host). */
  httpHeaders: Array<{ name: string, value: string }>
}

/** frp's proxy loadBalancer block. */
export interface LoadBalancerConfig {
  group: string
  /** The credential of the group: members of other client keys join only with the same one. '' = none. Secret. */
  groupKey: string
}

/** What tcp, http and tcpmux proxies (and every proxy's metadatas) may add; absent = not used. */
export interface ProxyExtras {
  loadBalancer?: LoadBalancerConfig
  healthCheck?: HealthCheckConfig
  /** frp's per-proxy metadatas: sent with the proxy to the relay's plugins (NewProxy). */
  metadatas?: Record<string, string>
}

/** frp's tcpmux proxy with multiplexer httpconnect: one public port, routed by the CONNECT target. */
export interface TcpmuxProxyConfig extends SourceRules, VhostDomains, BandwidthRules {
  name: string
  type: 'tcpmux'
  localIP: string
  localPort: number
  multiplexer: 'httpconnect'
  /** Proxy-Authorization (basic) the relay asks for; both '' = none. */
  httpUser: string
  httpPassword: Secret | null
  /** '' = any user; else only CONNECT requests authenticated as this user reach the proxy. */
  routeByHTTPUser: string
  proxyProtocolVersion: 'v1' | 'v2' | null
  /** frp's client plugins are not offered on tcpmux proxies (tcp, http, https and stcp have them). */
  plugin?: undefined
}

/** The operations of frp's server plugin protocol. */
export const PLUGIN_OPS = ['Login', 'NewProxy', 'CloseProxy', 'Ping', 'NewWorkConn', 'NewUserConn'] as const
export type PluginOp = typeof PLUGIN_OPS[number]

/** One entry of frps.yml's httpPlugins (frp's keys). */
export interface HttpPluginConfig {
  name: string
  /** host:port, or an http:// or https:// URL base. */
  addr: string
  /** The path requests are POSTed to. */
  path: string
  ops: PluginOp[]
  /** https only: check the service's certificate (frp's default true). */
  tlsVerify: boolean
}

export const GROUP_DEFAULTS = {
  healthCheckTimeoutSeconds: 3,
  healthCheckMaxFailed: 1,
  healthCheckIntervalSeconds: 10,
} as const
