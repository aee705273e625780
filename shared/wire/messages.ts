// Control messages (CONTROL frames, UTF-8 JSON): rare, so debuggable beats compact. The
// `type` strings are wire values pinned by test/unit/wire-numbers.test.ts. Every message from a
// peer goes through a parser here before use; a malformed one is a protocol error.
import { isErrorCode, ProtocolError, type ErrorCode } from '../errors.js'
import { isCidr } from '../net/source-filter.js'

export const CONTROL_PROTOCOL_VERSION = 1

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
} as const

export interface Login {
  type: 'login'
  version: number
  clientId: string
  user: string
  hostname: string
  /**
   * Set on a `tunnel diag nat-timeout` probe connection: the relay registers nothing, stays silent
   * this long, then sends natProbe. A relay that predates the field logs the probe in as a client
   * with no proxies, and the probe reports that it cannot measure.
   */
  probeIdleMs?: number
}

export interface LoginResult {
  type: 'loginResult'
  ok: boolean
  sessionId?: string
  code?: ErrorCode
  message?: string
}

/**
 * Visitor filtering (CIDRs or single addresses), sent only when non-empty. A relay that predates
 * these fields ignores them (and so filters nothing).
 */
export interface SourceSpec {
  allowSources?: string[]
  denySources?: string[]
}

/** At most this many rules per list; the config schema has the same bound. */
export const MAX_SOURCE_RULES = 256

/**
 * Limits the relay applies (sent only when set). A relay that predates these fields ignores
 * them, so upgrade the relay first.
 */
export interface LimitSpec {
  /** Bytes per second for the whole proxy, both directions (bandwidthLimitMode server only). */
  bandwidthLimit?: number
}

export interface TcpProxySpec extends SourceSpec, LimitSpec {
  name: string
  type: 'tcp'
  remotePort: number
  /** Visitor connections open at once on this proxy. */
  maxVisitors?: number
}

export interface UdpProxySpec extends SourceSpec, LimitSpec {
  name: string
  type: 'udp'
  remotePort: number
  /** Seconds without a datagram before a flow expires. */
  idleTimeout: number
  /** Flows at most at once. */
  maxFlows: number
}

/**
 * An http proxy (frp's keys): served on the relay's vhostHTTPPort for its domains and path
 * prefixes. The relay checks the domains, locations and header names itself (a bad one refuses
 * this proxy alone); here only the shape and the sizes are checked.
 */
export interface HttpProxySpec extends SourceSpec {
  name: string
  type: 'http'
  customDomains: string[]
  /** Prefixed to the relay's subDomainHost. */
  subdomain?: string
  /** Path prefixes; empty means every path. */
  locations: string[]
  hostHeaderRewrite?: string
  /** requestHeaders.set / responseHeaders.set: name → value. */
  requestHeaders?: Record<string, string>
  responseHeaders?: Record<string, string>
  httpUser?: string
  /** Secret: travels only inside the encrypted control connection, never logged. */
  httpPassword?: string
}

/** An https proxy: TLS connections on vhostHTTPSPort routed by SNI, passed through untouched. */
export interface HttpsProxySpec extends SourceSpec {
  name: string
  type: 'https'
  customDomains: string[]
  subdomain?: string
}

export type ProxySpec = TcpProxySpec | UdpProxySpec | HttpProxySpec | HttpsProxySpec

/** Bounds on what an http/https proxy may ask for (the config schema has the same). */
export const VHOST_LIMITS = { domains: 64, locations: 64, headers: 16, domainChars: 256, locationChars: 256, headerNameChars: 64, headerValueChars: 512, credentialChars: 256 } as const

/** Bounds the relay enforces on what a client asks for a UDP proxy. */
export const UDP_LIMITS = { idleTimeout: { min: 1, max: 86_400 }, maxFlows: { min: 1, max: 65_536 } } as const
/** Bounds of the optional limits (bytes per second: up to 1 TiB/s; visitors: 2^24). */
export const PROXY_LIMITS = { bandwidthLimit: { min: 1, max: 2 ** 40 }, maxVisitors: { min: 1, max: 2 ** 24 } } as const

/**
 * `id` (optional, on every request below): a number the relay copies into each result, so a
 * client that registers and unregisters on a live session (a reload) can tell which request a
 * result answers. The login's registration carries none.
 */
export interface Register {
  type: 'register'
  proxies: ProxySpec[]
  id?: number
}

export interface ProxyResult {
  type: 'proxyResult'
  name: string
  ok: boolean
  remotePort?: number
  /** http/https: the domains the proxy is served under (customDomains and subdomain.subDomainHost). */
  domains?: string[]
  code?: ErrorCode
  message?: string
  id?: number
}

/** How long a NAT probe may ask the relay to stay silent. */
export const PROBE_IDLE_MS = { min: 1_000, max: 900_000 } as const
/** Closes one proxy of this session: its public port, its visitors and flows; frees the name. */
export interface Unregister {
  type: 'unregister'
  name: string
  id?: number
}

export interface UnregisterResult {
  type: 'unregisterResult'
  name: string
  ok: boolean
  code?: ErrorCode
  message?: string
  id?: number
}

/** Largest request id (ids are unsigned 32-bit numbers). */
export const MAX_REQUEST_ID = 0xffff_ffff

const MAX_PROXIES_PER_REGISTER = 1024

function fail (what: string): never {
  throw new ProtocolError('TUN_PROTOCOL', `malformed control message: ${what}`)
}

function str (m: Record<string, unknown>, key: string, max = 256): string {
  const v = m[key]
  if (typeof v !== 'string' || v.length > max) fail(`${key} must be a string of at most ${max} characters`)
  return v
}

function port (m: Record<string, unknown>, key: string): number {
  const v = m[key]
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(`${key} must be a port number`)
  return v
}

function int (m: Record<string, unknown>, key: string, range: { min: number, max: number }): number {
  const v = m[key]
  if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) fail(`${key} must be a whole number from ${range.min} to ${range.max}`)
  return v
}

function optSources (m: Record<string, unknown>): SourceSpec {
  const out: SourceSpec = {}
  for (const key of ['allowSources', 'denySources'] as const) {
    const v = m[key]
    if (v === undefined) continue
    if (!Array.isArray(v) || v.length > MAX_SOURCE_RULES) fail(`${key} must be a list of at most ${MAX_SOURCE_RULES} CIDRs`)
    const rules = v.map((r: unknown) => {
      if (typeof r !== 'string' || !isCidr(r)) fail(`${key} holds ${String(r).slice(0, 80)}, which is not a CIDR or IP address`)
      return r
    })
    if (rules.length > 0) out[key] = rules
  }
  return out
}

function optId (m: Record<string, unknown>): { id?: number } {
  const v = m.id
  if (v === undefined) return {}
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_REQUEST_ID) fail(`id must be a whole number from 0 to ${MAX_REQUEST_ID}`)
  return { id: v }
}

function optLimits (m: Record<string, unknown>, keys: ReadonlyArray<keyof typeof PROXY_LIMITS>): LimitSpec & { maxVisitors?: number } {
  const out: LimitSpec & { maxVisitors?: number } = {}
  for (const key of keys) if (m[key] !== undefined) out[key] = int(m, key, PROXY_LIMITS[key])
  return out
}

function strList (m: Record<string, unknown>, key: string, maxItems: number, maxChars: number): string[] {
  const v = m[key] ?? []
  if (!Array.isArray(v) || v.length > maxItems) fail(`${key} must be a list of at most ${maxItems} strings`)
  return v.map((x: unknown) => {
    if (typeof x !== 'string' || x.length > maxChars) fail(`${key} must hold strings of at most ${maxChars} characters`)
    return x
  })
}

function optStr (m: Record<string, unknown>, key: string, max: number): string | undefined {
  return m[key] === undefined ? undefined : str(m, key, max)
}

function optHeaders (m: Record<string, unknown>, key: string): Record<string, string> | undefined {
  const v = m[key]
  if (v === undefined) return undefined
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${key} must be an object`)
  const entries = Object.entries(v)
  if (entries.length > VHOST_LIMITS.headers) fail(`${key} has more than ${VHOST_LIMITS.headers} headers`)
  const out: Record<string, string> = {}
  for (const [name, value] of entries) {
    if (name.length > VHOST_LIMITS.headerNameChars || typeof value !== 'string' || value.length > VHOST_LIMITS.headerValueChars) fail(`${key} holds a header name or value that is too long`)
    out[name] = value
  }
  return out
}

/** Only the fields that are present: exactOptionalPropertyTypes forbids `key: undefined`. */
function defined<T extends Record<string, unknown>> (o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}

function parseVhostSpec (r: Record<string, unknown>): HttpProxySpec | HttpsProxySpec {
  const common = {
    name: str(r, 'name', 200),
    customDomains: strList(r, 'customDomains', VHOST_LIMITS.domains, VHOST_LIMITS.domainChars),
    ...defined({ subdomain: optStr(r, 'subdomain', 64) }),
    ...optSources(r),
  }
  if (r.type === 'https') return { ...common, type: 'https' }
  return {
    ...common,
    type: 'http',
    locations: strList(r, 'locations', VHOST_LIMITS.locations, VHOST_LIMITS.locationChars),
    ...defined({
      hostHeaderRewrite: optStr(r, 'hostHeaderRewrite', VHOST_LIMITS.domainChars),
      requestHeaders: optHeaders(r, 'requestHeaders'),
      responseHeaders: optHeaders(r, 'responseHeaders'),
      httpUser: optStr(r, 'httpUser', VHOST_LIMITS.credentialChars),
      httpPassword: optStr(r, 'httpPassword', VHOST_LIMITS.credentialChars),
    }),
  }
}

function optCode (m: Record<string, unknown>): { code?: ErrorCode } {
  const v = m.code
  return isErrorCode(v) ? { code: v } : {}
}

function optMessage (m: Record<string, unknown>): { message?: string } {
  return typeof m.message === 'string' ? { message: m.message.slice(0, 1024) } : {}
}

export function parseLogin (m: Record<string, unknown>): Login {
  if (m.type !== MessageType.LOGIN) fail('expected login')
  const version = m.version
  if (typeof version !== 'number') fail('version must be a number')
  const login: Login = { type: 'login', version, clientId: str(m, 'clientId', 128), user: str(m, 'user', 128), hostname: str(m, 'hostname', 256) }
  if (m.probeIdleMs !== undefined) login.probeIdleMs = int(m, 'probeIdleMs', PROBE_IDLE_MS)
  return login
}

export function parseLoginResult (m: Record<string, unknown>): LoginResult {
  if (m.type !== MessageType.LOGIN_RESULT || typeof m.ok !== 'boolean') fail('expected loginResult')
  return { type: 'loginResult', ok: m.ok, ...(typeof m.sessionId === 'string' ? { sessionId: m.sessionId } : {}), ...optCode(m), ...optMessage(m) }
}

export function parseRegister (m: Record<string, unknown>): Register {
  if (m.type !== MessageType.REGISTER || !Array.isArray(m.proxies)) fail('expected register')
  if (m.proxies.length > MAX_PROXIES_PER_REGISTER) fail(`more than ${MAX_PROXIES_PER_REGISTER} proxies in one registration`)
  const proxies = m.proxies.map((p: unknown): ProxySpec => {
    if (p === null || typeof p !== 'object') fail('proxy must be an object')
    const r = p as Record<string, unknown>
    if (r.type === 'udp') {
      return { name: str(r, 'name', 200), type: 'udp', remotePort: port(r, 'remotePort'), idleTimeout: int(r, 'idleTimeout', UDP_LIMITS.idleTimeout), maxFlows: int(r, 'maxFlows', UDP_LIMITS.maxFlows), ...optSources(r), ...optLimits(r, ['bandwidthLimit']) }
    }
    if (r.type === 'http' || r.type === 'https') return parseVhostSpec(r)
    if (r.type !== 'tcp') fail(`proxy type ${String(r.type)} is not supported`)
    return { name: str(r, 'name', 200), type: 'tcp', remotePort: port(r, 'remotePort'), ...optSources(r), ...optLimits(r, ['bandwidthLimit', 'maxVisitors']) }
  })
  return { type: 'register', proxies, ...optId(m) }
}

export function parseProxyResult (m: Record<string, unknown>): ProxyResult {
  if (m.type !== MessageType.PROXY_RESULT || typeof m.ok !== 'boolean') fail('expected proxyResult')
  return {
    type: 'proxyResult',
    name: str(m, 'name', 200),
    ok: m.ok,
    ...(typeof m.remotePort === 'number' ? { remotePort: m.remotePort } : {}),
    ...(Array.isArray(m.domains) ? { domains: m.domains.filter((d): d is string => typeof d === 'string').slice(0, VHOST_LIMITS.domains + 1).map((d) => d.slice(0, VHOST_LIMITS.domainChars)) } : {}),
    ...optCode(m),
    ...optMessage(m),
    ...optId(m),
  }
}

export function parseUnregister (m: Record<string, unknown>): Unregister {
  if (m.type !== MessageType.UNREGISTER) fail('expected unregister')
  return { type: 'unregister', name: str(m, 'name', 200), ...optId(m) }
}

export function parseUnregisterResult (m: Record<string, unknown>): UnregisterResult {
  if (m.type !== MessageType.UNREGISTER_RESULT || typeof m.ok !== 'boolean') fail('expected unregisterResult')
  return { type: 'unregisterResult', name: str(m, 'name', 200), ok: m.ok, ...optCode(m), ...optMessage(m), ...optId(m) }
}

export interface DiagRequest {
  type: 'diagRequest'
  id: number
}

/** `view` is the relay's PeerView (shared/diag/peer-view.ts), checked by parsePeerView. */
export interface DiagResult {
  type: 'diagResult'
  id: number
  ok: boolean
  view?: unknown
  code?: ErrorCode
  message?: string
}

export function parseDiagRequest (m: Record<string, unknown>): DiagRequest {
  if (m.type !== MessageType.DIAG_REQUEST) fail('expected diagRequest')
  const { id } = optId(m)
  if (id === undefined) fail('diagRequest needs an id')
  return { type: 'diagRequest', id }
}

export function parseDiagResult (m: Record<string, unknown>): DiagResult {
  if (m.type !== MessageType.DIAG_RESULT || typeof m.ok !== 'boolean') fail('expected diagResult')
  const { id } = optId(m)
  if (id === undefined) fail('diagResult needs an id')
  return { type: 'diagResult', id, ok: m.ok, ...(m.view === undefined ? {} : { view: m.view }), ...optCode(m), ...optMessage(m) }
}
