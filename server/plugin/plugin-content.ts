// Our events in the shapes of frp's server plugin protocol (frp's msg.Login, msg.NewProxy, ...,
// snake_case as frp sends them, empty fields left out as frp's omitempty does), and a NewProxy
// content a plugin changed, back as our proxy spec. Pure.
//
// Mapping: Login = a client's login (after the handshake proved the token and the client key);
// NewProxy = one proxy of a register; CloseProxy = an unregister or the end of the session, per
// proxy; Ping = the client's heartbeat; NewUserConn = a visitor of a tcp, tcpmux or https proxy, or a
// visit to an stcp or sudp proxy (server/proxy/secret.ts; remote_addr: the visitor client's);
// NewWorkConn = the stream the relay opens to the client for that visitor (our work connection).
// Not sent: privilege_key (the token never leaves the relay, not even as frp's MD5 of it), os,
// arch and pool_count (our login does not carry them).
import { parseBandwidth } from '../../shared/limit/index.js'
import type { Endpoint, Login, ProxySpec } from '../../shared/wire/index.js'
import { formatHostPort } from '../../shared/net/index.js'

/** frp's UserInfo: who a call is about. */
export interface PluginUser {
  user: string
  metas: Record<string, string>
  /** Our session id (frp's run_id). */
  runId: string
}

const userInfo = (u: PluginUser): Record<string, unknown> => ({ user: u.user, metas: u.metas, run_id: u.runId })

/** Leaves out undefined, '' and empty lists or maps, as frp's omitempty does. */
function compact (o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => {
    if (v === undefined || v === '' || v === null) return false
    if (Array.isArray(v)) return v.length > 0
    if (typeof v === 'object') return Object.keys(v).length > 0
    return true
  }))
}

export function loginContent (login: Login, runId: string, clientAddress: string, nowSeconds: number): Record<string, unknown> {
  return compact({
    version: String(login.version),
    hostname: login.hostname,
    user: login.user,
    timestamp: nowSeconds,
    run_id: runId,
    client_id: login.clientId,
    metas: login.metas ?? {},
    client_address: clientAddress,
  })
}

/** What a Login answer may change: the user (names stay the client's) and the metadatas. */
export function loginChanges (content: Record<string, unknown>): { user?: string, metas?: Record<string, string> } {
  const out: { user?: string, metas?: Record<string, string> } = {}
  if (typeof content.user === 'string') out.user = content.user.slice(0, 128)
  if (isStringMap(content.metas)) out.metas = content.metas
  return out
}

function isStringMap (v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
}

const MB = 1024 * 1024
/** frp writes limits as "1MB" / "512KB". */
function frpBandwidth (bytes: number): string {
  return bytes % MB === 0 ? `${bytes / MB}MB` : `${Math.ceil(bytes / 1024)}KB`
}

/** A proxy spec as frp's NewProxy content. */
export function newProxyContent (u: PluginUser, spec: ProxySpec): Record<string, unknown> {
  const s = spec as Partial<Record<string, unknown>> & ProxySpec
  const bw = typeof s.bandwidthLimit === 'number' ? s.bandwidthLimit : undefined
  return compact({
    user: userInfo(u),
    proxy_name: spec.name,
    proxy_type: spec.type,
    // Every stream rides the encrypted control connection.
    use_encryption: true,
    bandwidth_limit: bw === undefined ? undefined : frpBandwidth(bw),
    bandwidth_limit_mode: bw === undefined ? undefined : 'server',
    group: s.group,
    group_key: s.groupKey,
    metas: s.metas,
    remote_port: s.remotePort,
    custom_domains: s.customDomains,
    subdomain: s.subdomain,
    locations: s.locations,
    http_user: s.httpUser,
    http_pwd: s.httpPassword,
    host_header_rewrite: s.hostHeaderRewrite,
    headers: s.requestHeaders,
    response_headers: s.responseHeaders,
    route_by_http_user: s.routeByHTTPUser,
    multiplexer: s.multiplexer,
  })
}

/** frp's NewProxy field → our spec field. */
const SPEC_FIELDS: ReadonlyArray<[string, string]> = [
  ['group', 'group'], ['group_key', 'groupKey'], ['metas', 'metas'], ['remote_port', 'remotePort'],
  ['custom_domains', 'customDomains'], ['subdomain', 'subdomain'], ['locations', 'locations'],
  ['http_user', 'httpUser'], ['http_pwd', 'httpPassword'], ['host_header_rewrite', 'hostHeaderRewrite'],
  ['headers', 'requestHeaders'], ['response_headers', 'responseHeaders'], ['route_by_http_user', 'routeByHTTPUser'],
  ['multiplexer', 'multiplexer'],
]

/**
 * The spec with what a plugin's NewProxy content changed (only the fields the proxy's type has; a
 * field the content leaves out keeps its value; name and type never change). The caller checks
 * the result against the type's schema. Also says which fields changed, for the log.
 */
export function specFromContent (spec: ProxySpec, content: Record<string, unknown>): { spec: Record<string, unknown>, changed: string[] } {
  const out: Record<string, unknown> = { ...spec }
  const changed: string[] = []
  for (const [from, to] of SPEC_FIELDS) {
    if (!Object.hasOwn(content, from) || (!Object.hasOwn(out, to) && !optionalFor(spec.type, to))) continue
    const value = content[from]
    if (JSON.stringify(value) === JSON.stringify(out[to])) continue
    out[to] = value
    changed.push(to)
  }
  // A limit the relay applies (tcp, udp, tcpmux); one it cannot read stays for the schema to refuse.
  if (Object.hasOwn(content, 'bandwidth_limit') && LIMITED_TYPES.has(spec.type)) {
    const v = content.bandwidth_limit
    const r = typeof v === 'string' ? parseBandwidth(v) : { problem: 'not a string' }
    const bytes = 'problem' in r ? v : r.bytes
    if (bytes !== (out.bandwidthLimit ?? 0)) {
      if (bytes === 0) delete out.bandwidthLimit
      else out.bandwidthLimit = bytes
      changed.push('bandwidthLimit')
    }
  }
  return { spec: out, changed }
}

const LIMITED_TYPES: ReadonlySet<string> = new Set(['tcp', 'udp', 'tcpmux'])

/** Optional fields a type's spec may gain from a plugin even when the client left them out. */
const OPTIONAL: Readonly<Record<string, readonly string[]>> = {
  tcp: ['group', 'groupKey', 'metas'],
  udp: ['metas'],
  http: ['group', 'groupKey', 'metas', 'subdomain', 'hostHeaderRewrite', 'requestHeaders', 'responseHeaders', 'httpUser', 'httpPassword', 'routeByHTTPUser'],
  https: ['metas', 'subdomain'],
  tcpmux: ['group', 'groupKey', 'metas', 'subdomain', 'httpUser', 'httpPassword', 'routeByHTTPUser'],
}

function optionalFor (type: string, field: string): boolean {
  return OPTIONAL[type]?.includes(field) ?? false
}

export function closeProxyContent (u: PluginUser, name: string): Record<string, unknown> {
  return { user: userInfo(u), proxy_name: name }
}

export function pingContent (u: PluginUser, nowSeconds: number): Record<string, unknown> {
  return { user: userInfo(u), timestamp: nowSeconds }
}

export function newWorkConnContent (u: PluginUser, nowSeconds: number): Record<string, unknown> {
  return { user: userInfo(u), run_id: u.runId, timestamp: nowSeconds }
}

export function newUserConnContent (u: PluginUser, proxy: { name: string, type: string }, visitor: Endpoint): Record<string, unknown> {
  return { user: userInfo(u), proxy_name: proxy.name, proxy_type: proxy.type, remote_addr: formatHostPort(visitor.address, visitor.port) }
}
