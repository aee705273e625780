// The shapes of frps.yml and frpc.yml after loading and defaults, with frp v1 key names.
// Durations keep frp's unit (seconds) so a value reads the same here as in the file.
import { DEFAULT_MAX_STREAMS } from '../mux/index.js'
import type { Secret } from '../secret.js'

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
  }
  log: LogConfig
  /** The admin API, or null when off. */
  webServer: AdminConfig | null
  /** frp's enablePrometheus: serve /metrics on the admin API. */
  enablePrometheus: boolean
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
}

export interface HttpsProxyConfig extends SourceRules, VhostDomains, BandwidthRules {
  name: string
  type: 'https'
  localIP: string
  localPort: number
  proxyProtocolVersion: 'v1' | 'v2' | null
}

export type ProxyConfig = TcpProxyConfig | UdpProxyConfig | HttpProxyConfig | HttpsProxyConfig

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
  }
  log: LogConfig
  proxies: ProxyConfig[]
  /** The admin API (status, diag, metrics, reload), or null when off. */
  webServer: AdminConfig | null
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
} as const
