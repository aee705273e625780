// The shapes of frps.yml and frpc.yml after loading and defaults, with frp v1 key names.
// Durations keep frp's unit (seconds) so a value reads the same here as in the file.
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
  }
  /** Empty means every port 1-65535. */
  allowPorts: PortRange[]
  /** 0 = unlimited. */
  maxPortsPerClient: number
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
  }
  log: LogConfig
}

/** Visitor filtering the relay applies to a proxy (our keys; frp has none). CIDRs or addresses. */
export interface SourceRules {
  /** Empty admits everyone not denied. */
  allowSources: string[]
  /** Wins over allowSources. */
  denySources: string[]
}

export interface TcpProxyConfig extends SourceRules {
  name: string
  type: 'tcp'
  localIP: string
  localPort: number
  /** 0 asks the relay for a free port. */
  remotePort: number
  /** frp's transport.proxyProtocolVersion: a PROXY header to the local service, or null for none. */
  proxyProtocolVersion: 'v1' | 'v2' | null
}

export interface UdpProxyConfig extends SourceRules {
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
}

/** What http and https proxies share: the domains they are served under (frp's keys). */
export interface VhostDomains {
  customDomains: string[]
  /** '' = none; served as {subdomain}.{the relay's subDomainHost}. */
  subdomain: string
}

export interface HttpProxyConfig extends SourceRules, VhostDomains {
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

export interface HttpsProxyConfig extends SourceRules, VhostDomains {
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
    /** The relay's X25519 public key (auth.serverKey); null = not pinned (NNpsk0, warned). */
    serverKey: Uint8Array | null
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
  }
  log: LogConfig
  proxies: ProxyConfig[]
}

export const SERVER_DEFAULTS = {
  bindAddr: '::',
  bindPort: 7000,
  vhostHTTPTimeout: 60,
  heartbeatTimeout: 90,
  handshakeTimeout: 10,
  maxClockSkew: 60,
  logLevel: 'info',
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
} as const
