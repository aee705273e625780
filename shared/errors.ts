// The one catalogue of error codes. Every code is documented in docs/errors.md; a test keeps
// the two in step. Recognise errors by `code` or `instanceof`, never by message text.

export const ERROR_CODES = {
  TUN_CONFIG_INVALID: 'a config file has a wrong value, type or shape',
  TUN_CONFIG_UNKNOWN_KEY: 'a config file has a key this version does not know',
  TUN_CONFIG_RANGE: 'a number in a config file is outside its allowed range',
  TUN_CONFIG_SYNTAX: 'a config file is not valid YAML',
  TUN_CONFIG_READ: 'a config file could not be read',
  TUN_CONFIG_ENV: 'a config file names an environment variable that is not set',
  TUN_USAGE: 'the command line is wrong',
  TUN_BENCH_TARGET: '`tunnel bench` could not resolve the host name of --target',
  TUN_BENCH_THRESHOLD: '`tunnel bench` measured more errors or a higher p99 than --max-error-rate / --max-p99-ms allow',
  TUN_DIAG_SOURCE: 'a diagnostic source (ss, a /proc file, a sysctl) could not be read; the report names it and says why',
  TUN_DIAG_PARSE: 'the output of ss or a /proc file had an unexpected shape; the report names it',
  TUN_DIAG_FINDINGS: '`tunnel diag --strict` found something to fix (a finding of severity warn or error)',
  TUN_ADMIN_INSECURE: 'the admin API (webServer) listens on a non-loopback address without webServer.password or webServer.token: it serves only /metrics (without tenant series) and answers 401 to the rest (a warning)',
  TUN_ADMIN_AUTH: 'the admin API refused the request: missing or wrong credentials (HTTP 401)',
  TUN_ADMIN_UNREACHABLE: 'the admin API could not be reached (the process is not running, or webServer.addr/port differ)',
  TUN_ADMIN_NOT_CONFIGURED: 'the config file has no webServer.port, so the process runs no admin API to ask',
  TUN_ADMIN_REQUEST: 'the admin API refused a request as malformed (endpoint, method, query, size) or answered something unexpected',
  TUN_ADMIN_CONFIG_LOCKED: 'the client\'s config editor (GET/POST /api/config) or store API (/api/store/*) is off because its admin API has no webServer.password or webServer.token',
  TUN_STORE_NOT_FOUND: 'the client\'s store (store.path) has no proxy or visitor of that name (HTTP 404 from /api/store/*)',
  TUN_STORE_CONFLICT: 'a proxy or visitor of that name already exists, in the store or in the config file (HTTP 409 from /api/store/*); nothing changed',
  TUN_STORE_INVALID: 'the store change was refused: the proxy or visitor does not verify (the errors name the store file\'s line:col) or the reload refused it; the store file and the running proxies are unchanged',
  TUN_ADMIN_CONFIG_CONFLICT: 'the config file changed on disk after the dashboard read it; nothing was written (read it again)',
  TUN_CONFIG_WRITE: 'the client could not write its config file (permissions, disk full); the file and the running proxies are unchanged',
  TUN_BENCH_REPORT: '`tunnel bench --report` could not write the HTML file, or the package was built without its chart code',
  TUN_RELOAD_UNAVAILABLE: 'the process asked to reload does not offer reload (a relay, or a client without hot reload)',
  TUN_RELOAD_REFUSED: 'a reload was refused (an invalid file, or a setting other than proxies changed, which needs a restart); the running config stays',
  TUN_FRAME_TOO_LARGE: 'a peer sent a frame longer than the protocol allows',
  TUN_FRAME_INVALID: 'a peer sent a frame with a bad version, type or flags',
  TUN_PROTOCOL: 'a peer broke the protocol: a malformed or unknown control message, a bad window, stream id or message order',
  TUN_PROTOCOL_VERSION: 'the client and the relay speak different control protocol versions (both sides log which): upgrade the older side',
  TUN_FLOW_CONTROL: 'a peer sent more stream data than its window allowed',
  TUN_AUTH_REFUSED: 'the relay refused the login: auth.token differs from the relay\'s',
  TUN_LOGIN_TIMEOUT: 'the login did not finish in time',
  TUN_HEARTBEAT_TIMEOUT: 'the peer sent nothing within the heartbeat timeout',
  TUN_PEER_NOT_READING: 'the peer did not take what was queued for it: reading from it paused, and it took nothing within the timeout (30 s), or the queue passed its hard bound; the session is closed',
  TUN_SESSION_CLOSED: 'the control connection closed',
  TUN_SESSION_REPLACED: 'a newer session of the same client replaced this one',
  TUN_GOAWAY: 'the peer is shutting down the control connection',
  TUN_TOO_MANY_STREAMS: 'the session reached its limit of open streams',
  TUN_STREAM_RESET: 'the peer reset a stream',
  TUN_LOCAL_DIAL: 'the client could not connect to the local service',
  TUN_PLUGIN_AUTH: 'a visitor gave a client plugin (http_proxy, socks5, static_file) no or wrong credentials and was refused',
  TUN_PLUGIN_REQUEST: 'a visitor sent a client plugin a malformed, oversized or unfinished handshake or request head and was refused',
  TUN_PORT_NOT_ALLOWED: 'the remote port is outside the relay\'s allowPorts',
  TUN_PORT_IN_USE: 'the remote port is already in use on the relay',
  TUN_PROXY_EXISTS: 'another session already registered a proxy with this name',
  TUN_PROXY_INVALID: 'a proxy registration was malformed or of an unsupported type',
  TUN_PROXY_UNKNOWN: 'an unregister named a proxy this session does not hold',
  TUN_RELOAD_TIMEOUT: 'the relay did not answer a reload\'s register or unregister in time',
  TUN_VHOST_CONFLICT: 'an http/https domain (and location) is already served by another proxy',
  TUN_DOMAIN_OWNED: 'an http/https/tcpmux domain belongs to another client or load-balancing group (or is reserved for it while it reconnects): only its owner can add locations or routes to it',
  TUN_CLIENT_LIMIT: 'a proxy would pass one of the relay\'s per-client or per-user caps (maxProxiesPerClient, maxLocationsPerUser, ...)',
  TUN_VHOST_UNAVAILABLE: 'the relay does not serve this proxy type: its frps.yml sets no vhostHTTPPort / vhostHTTPSPort',
  TUN_LISTEN: 'a listener could not be opened',
  TUN_CONNECT: 'the connection to the relay failed',
  TUN_SERVER_KEY_MISMATCH: 'the relay does not hold the key pinned in auth.serverKey (wrong key, or a man in the middle)',
  TUN_CLOCK_SKEW: 'the client\'s clock differs from the relay\'s by more than transport.maxClockSkew',
  TUN_REPLAY: 'a handshake was replayed, or is not newer than the last login of the same clientID',
  TUN_RELAY_BUSY: 'the relay has too many handshakes in progress (overall or from this source), or nearly all its fds in use',
  TUN_TRANSPORT_MISMATCH: 'transport.insecurePlaintext differs between client and relay',
  TUN_CLIENT_KEY_REFUSED: 'the relay does not accept this client\'s key for its clientID or user (the relay\'s auth.clientKeys)',
  TUN_CLIENT_ID_IN_USE: 'another client (with another key) holds this clientID on the relay: a session may only replace one of the same key',
  TUN_FLEET_UNAVAILABLE: 'a fleet relay could not reach its store (etcd) within fleet.etcd.requestTimeout: new logins and registrations are refused until it is back (what runs keeps running); the client retries',
  TUN_FLEET_LINK_REFUSED: 'a relay refused an inter-relay link: the dialling party is not a fleet member (no record of its nodeName in the store, or its key is not the one that record publishes), or the store could not be asked',
  TUN_FLEET_LINK_DOWN: 'a fleet relay could not open or use the link to a peer relay (the peer is not in the store, publishes no key, cannot be reached at its advertiseAddr, or this relay has no auth.privateKey); forwarded visitors get 502 meanwhile',
  TUN_HANDSHAKE_INVALID: 'a peer sent a malformed handshake (not a tunnel peer, or another version)',
  TUN_HANDSHAKE_TIMEOUT: 'the handshake did not finish within transport.handshakeTimeout',
  TUN_RECORD_AUTH: 'a record on the control connection failed authentication (corrupted or tampered)',
  TUN_RECORD_LIMIT: 'a record counter reached its limit; the session must be set up again',
  TUN_VISITOR_SHED: 'the relay closed a visitor connection at once: its proxy\'s maxVisitors or the relay\'s maxConnections (from the fd limit) was reached, or its source held its share (maxVisitorsPerSource, a quarter of the client\'s streams, maxConnectionsPerSource)',
  TUN_VISIT_REFUSED: 'a visit to a secret proxy (stcp, sudp) was refused: no such proxy is online for this visitor (serverName, serverUser), the secretKey differs, or the visitor\'s user is not in allowUsers; the relay does not say which, on purpose',
  TUN_VISIT_RATE_LIMITED: 'the relay refused a visit without checking it: this client\'s session had too many visits refused lately (a guard against guessing secret keys or names); fix the visitor and wait a few seconds',
  TUN_STUN_UNREACHABLE: 'the STUN server (the relay\'s stunBindPort, or natHoleStunServer) did not answer a Binding request over UDP: UDP is blocked on the way, or no STUN server listens there',
  TUN_DIRECT_PATH_FAILED: 'an xtcp visitor found no direct path to its proxy\'s client (punching failed or timed out, the NATs cannot be punched, or the path died) and had no fallbackTo visitor, or its retry budget was spent',
  TUN_VISIT_UNAVAILABLE: 'a visitor cannot work: the relay does not accept visitors (it lacks the visit capability), or the visitor\'s settings cannot be used',
  TUN_PROXY_URL_AUTH: 'the proxy of transport.proxyURL (or http_proxy) refused the credentials: HTTP 407, or a SOCKS5 authentication failure',
  TUN_PROXY_URL_REFUSED: 'the proxy of transport.proxyURL (or http_proxy) did not connect us to the relay: an HTTP status other than 2xx, a SOCKS5 failure reply, or no proxy there',
  TUN_TLS_VERIFY: 'the relay\'s TLS certificate did not verify against transport.tls.trustedCaFile and serverName (another CA, another name, expired)',
  TUN_TLS: 'the TLS layer under the control connection failed: no TLS on the other end, no common version or cipher, or a client certificate refused',
  TUN_TLS_REQUIRED: 'the relay accepts only TLS clients (its transport.tls.force or trustedCaFile); this client connected without TLS',
  TUN_WEBSOCKET_UPGRADE: 'the relay, or a reverse proxy in front of it, did not upgrade to WebSocket (an HTTP status instead of 101)',
  // Load-balancing groups, tcpmux and relay plugins (issue 17).
  TUN_GROUP_KEY: 'a load-balancing group refused a member: its loadBalancer.groupKey is not the group\'s (or is empty while the group belongs to another client key)',
  TUN_GROUP_MISMATCH: 'a load-balancing group refused a member: its type, remotePort, domains, locations or tcpmux settings differ from the group\'s',
  TUN_TCPMUX_UNAVAILABLE: 'the relay serves no tcpmux proxies: its frps.yml sets no tcpmuxHTTPConnectPort',
  TUN_PLUGIN_REJECTED: 'a relay plugin (httpPlugins) rejected the operation; the message carries its reason',
  TUN_PLUGIN_UNAVAILABLE: 'a relay plugin (httpPlugins) did not answer in time, answered an error or something unreadable, or had too many calls waiting: the login, proxy or visitor was refused (fail closed)',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class TunnelError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Where in a config file a problem is. line and col are 1-based; 0 when unknown. */
export interface ConfigLocation {
  file: string
  line: number
  col: number
  path: string
}

/** One problem found in a config file. */
export interface ConfigIssue {
  code: ErrorCode
  message: string
  location: ConfigLocation
  /** A file the key names does not exist: refused at start and reload, a warning in `tunnel verify` (shared/config/missing-files.ts). */
  missingFile?: true
}

/**
 * A config file that cannot be used. `message` is the whole human text, one line per issue:
 * `frpc.yml:12:5 proxies[0].remotePort: 70000 is outside 1-65535 (TUN_CONFIG_RANGE)`.
 * `code` is the first issue's code.
 */
export class ConfigError extends TunnelError {
  readonly issues: readonly ConfigIssue[]
  constructor (issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const first = issues[0]
    super(first?.code ?? 'TUN_CONFIG_INVALID', issues.map(formatConfigIssue).join('\n'), options)
    this.issues = issues
  }
}

export function formatConfigIssue (issue: ConfigIssue): string {
  return `${placeConfigIssue(issue)} (${issue.code})`
}

/** `file:line:col path: message`, without the code (for outputs that carry the code apart). */
export function placeConfigIssue (issue: ConfigIssue): string {
  const { file, line, col, path } = issue.location
  const where = line > 0 ? `${file}:${line}:${col}` : file
  return `${where} ${path === '' ? '' : path + ': '}${issue.message}`
}

export interface ProtocolErrorOptions extends ErrorOptions {
  /** The control message type at fault (for logs), when the error is about one. */
  messageType?: string
}

/** Thrown by the frame decoder, the mux and the control-message checks: the session must end with GOAWAY(protocol). */
export class ProtocolError extends TunnelError {
  readonly messageType: string | undefined
  constructor (code: ErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super(code, message, options)
    this.messageType = options.messageType
  }
}

export interface HandshakeErrorOptions extends ErrorOptions {
  /** A short machine-readable reason for logs (`decrypt`, `key id`, `stale`, …). */
  reason: string
  /**
   * True when the refusal came inside an authenticated handshake message (the relay proved it
   * knows the token and key). An unauthenticated refusal could be forged by anyone on the path.
   */
  authenticated?: boolean
}

/** A handshake that failed or was refused; `code` says why in user terms. */
export class HandshakeError extends TunnelError {
  readonly reason: string
  readonly authenticated: boolean
  constructor (code: ErrorCode, message: string, options: HandshakeErrorOptions) {
    super(code, message, options)
    this.reason = options.reason
    this.authenticated = options.authenticated ?? false
  }
}

/** Per-proxy refusals and login refusals the relay reports back to the client. */
export class RelayRefusal extends TunnelError {}

export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value)
}

/** A code for any thrown value: its own when it is ours, else the fallback. */
export function errorCode (err: unknown, fallback: ErrorCode): ErrorCode {
  return err instanceof TunnelError ? err.code : fallback
}
