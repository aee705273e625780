// frp's legacy INI format (frpc.ini / frps.ini: a `[common]` section, snake_case keys), which frp
// deprecated in v0.52 but still reads by converting it to its v1 structure. So do we: the INI
// (ini.ts) becomes the v1 data the YAML and TOML files give, key by key as frp converts it
// (pkg/config/legacy), and then goes through the same checks. Only keys the file sets are
// converted (the v1 defaults are frp's legacy defaults), so a key v1 dropped or we do not support
// gets the warning or refusal its v1 name gets, at the INI key's line:col; each v1 path keeps the
// INI section and key it came from, so messages can name both (`ssh.remote_port (remotePort)`).
import type { PathOffsets } from './toml-paths.js'
import { parseIni, type IniFile, type IniKey, type IniSection } from './ini.js'
import { parseRangeNumbers } from './template.js'
import type { Side } from './schema.js'

type Kind = 'string' | 'int' | 'bool' | 'list'
/** A legacy key: its v1 path below the section's base, and how its text becomes a value. */
type Rule = readonly [path: string, kind: Kind]

const s = (path: string): Rule => [path, 'string']
const n = (path: string): Rule => [path, 'int']
const b = (path: string): Rule => [path, 'bool']
const l = (path: string): Rule => [path, 'list']

/** [common] keys both sides read. */
const COMMON_BOTH: Readonly<Record<string, Rule>> = {
  authentication_method: s('auth.method'),
  token: s('auth.token'),
  oidc_audience: s('auth.oidc.audience'),
  log_file: s('log.to'),
  log_level: s('log.level'),
  log_max_days: n('log.maxDays'),
  disable_log_color: b('log.disablePrintColor'),
  assets_dir: s('webServer.assetsDir'),
  tcp_mux: b('transport.tcpMux'),
  tcp_mux_keepalive_interval: n('transport.tcpMuxKeepaliveInterval'),
  quic_keepalive_period: n('transport.quic.keepalivePeriod'),
  quic_max_idle_timeout: n('transport.quic.maxIdleTimeout'),
  quic_max_incoming_streams: n('transport.quic.maxIncomingStreams'),
  tls_cert_file: s('transport.tls.certFile'),
  tls_key_file: s('transport.tls.keyFile'),
  tls_trusted_ca_file: s('transport.tls.trustedCaFile'),
  heartbeat_timeout: n('transport.heartbeatTimeout'),
  udp_packet_size: n('udpPacketSize'),
  pprof_enable: b('webServer.pprofEnable'),
}

/** frpc.ini's [common] (frp's ClientCommonConf). */
const COMMON_CLIENT: Readonly<Record<string, Rule>> = {
  ...COMMON_BOTH,
  oidc_client_id: s('auth.oidc.clientID'),
  oidc_client_secret: s('auth.oidc.clientSecret'),
  oidc_scope: s('auth.oidc.scope'),
  oidc_token_endpoint_url: s('auth.oidc.tokenEndpointURL'),
  server_addr: s('serverAddr'),
  server_port: n('serverPort'),
  nat_hole_stun_server: s('natHoleStunServer'),
  dial_server_timeout: n('transport.dialServerTimeout'),
  dial_server_keepalive: n('transport.dialServerKeepalive'),
  connect_server_local_ip: s('transport.connectServerLocalIP'),
  http_proxy: s('transport.proxyURL'),
  admin_addr: s('webServer.addr'),
  admin_port: n('webServer.port'),
  admin_user: s('webServer.user'),
  admin_pwd: s('webServer.password'),
  pool_count: n('transport.poolCount'),
  user: s('user'),
  dns_server: s('dnsServer'),
  login_fail_exit: b('loginFailExit'),
  start: l('start'),
  protocol: s('transport.protocol'),
  tls_enable: b('transport.tls.enable'),
  tls_server_name: s('transport.tls.serverName'),
  disable_custom_tls_first_byte: b('transport.tls.disableCustomTLSFirstByte'),
  heartbeat_interval: n('transport.heartbeatInterval'),
  includes: l('includes'),
}

/** frps.ini's [common] (frp's ServerCommonConf). */
const COMMON_SERVER: Readonly<Record<string, Rule>> = {
  ...COMMON_BOTH,
  oidc_issuer: s('auth.oidc.issuer'),
  oidc_skip_expiry_check: b('auth.oidc.skipExpiryCheck'),
  oidc_skip_issuer_check: b('auth.oidc.skipIssuerCheck'),
  bind_addr: s('bindAddr'),
  bind_port: n('bindPort'),
  kcp_bind_port: n('kcpBindPort'),
  quic_bind_port: n('quicBindPort'),
  proxy_bind_addr: s('proxyBindAddr'),
  vhost_http_port: n('vhostHTTPPort'),
  vhost_https_port: n('vhostHTTPSPort'),
  tcpmux_httpconnect_port: n('tcpmuxHTTPConnectPort'),
  tcpmux_passthrough: b('tcpmuxPassthrough'),
  vhost_http_timeout: n('vhostHTTPTimeout'),
  dashboard_addr: s('webServer.addr'),
  dashboard_port: n('webServer.port'),
  dashboard_user: s('webServer.user'),
  dashboard_pwd: s('webServer.password'),
  enable_prometheus: b('enablePrometheus'),
  detailed_errors_to_client: b('detailedErrorsToClient'),
  subdomain_host: s('subDomainHost'),
  tcp_keepalive: n('transport.tcpKeepalive'),
  custom_404_page: s('custom404Page'),
  max_pool_count: n('transport.maxPoolCount'),
  max_ports_per_client: n('maxPortsPerClient'),
  tls_only: b('transport.tls.force'),
  user_conn_timeout: n('userConnTimeout'),
  nat_hole_analysis_data_reserve_hours: n('natholeAnalysisDataReserveHours'),
}

/** Keys every proxy section reads (frp's BaseProxyConf). */
const PROXY_BASE: Readonly<Record<string, Rule>> = {
  use_encryption: b('transport.useEncryption'),
  use_compression: b('transport.useCompression'),
  group: s('loadBalancer.group'),
  group_key: s('loadBalancer.groupKey'),
  proxy_protocol_version: s('transport.proxyProtocolVersion'),
  bandwidth_limit: s('transport.bandwidthLimit'),
  bandwidth_limit_mode: s('transport.bandwidthLimitMode'),
  local_ip: s('localIP'),
  local_port: n('localPort'),
  plugin: s('plugin.type'),
  health_check_type: s('healthCheck.type'),
  health_check_timeout_s: n('healthCheck.timeoutSeconds'),
  health_check_max_failed: n('healthCheck.maxFailed'),
  health_check_interval_s: n('healthCheck.intervalSeconds'),
  health_check_url: s('healthCheck.path'),
}

const DOMAINS: Readonly<Record<string, Rule>> = { custom_domains: l('customDomains'), subdomain: s('subdomain') }
const SECRET: Readonly<Record<string, Rule>> = { sk: s('secretKey'), allow_users: l('allowUsers') }

/** What each proxy type reads on top of the base (frp's *ProxyConf types). */
const PROXY_TYPES: Readonly<Record<string, Readonly<Record<string, Rule>>>> = {
  tcp: { remote_port: n('remotePort') },
  udp: { remote_port: n('remotePort') },
  http: {
    ...DOMAINS,
    locations: l('locations'),
    http_user: s('httpUser'),
    http_pwd: s('httpPassword'),
    host_header_rewrite: s('hostHeaderRewrite'),
    route_by_http_user: s('routeByHTTPUser'),
  },
  https: DOMAINS,
  tcpmux: { ...DOMAINS, http_user: s('httpUser'), http_pwd: s('httpPassword'), route_by_http_user: s('routeByHTTPUser'), multiplexer: s('multiplexer') },
  stcp: SECRET,
  xtcp: SECRET,
  sudp: SECRET,
}

/** Visitor sections (`role = visitor`): frp's BaseVisitorConf, and xtcp's extra keys. */
const VISITOR_BASE: Readonly<Record<string, Rule>> = {
  use_encryption: b('transport.useEncryption'),
  use_compression: b('transport.useCompression'),
  sk: s('secretKey'),
  server_user: s('serverUser'),
  server_name: s('serverName'),
  bind_addr: s('bindAddr'),
  bind_port: n('bindPort'),
}
const VISITOR_XTCP: Readonly<Record<string, Rule>> = {
  protocol: s('protocol'),
  keep_tunnel_open: b('keepTunnelOpen'),
  max_retries_an_hour: n('maxRetriesAnHour'),
  min_retry_interval: n('minRetryInterval'),
  fallback_to: s('fallbackTo'),
  fallback_timeout_ms: n('fallbackTimeoutMs'),
}

/** `plugin_*` keys each client plugin reads in frp's INI (`plugin_header_*` aside). */
const PLUGIN_PARAMS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  http2https: { plugin_local_addr: 'localAddr', plugin_host_header_rewrite: 'hostHeaderRewrite' },
  https2http: { plugin_local_addr: 'localAddr', plugin_host_header_rewrite: 'hostHeaderRewrite', plugin_crt_path: 'crtPath', plugin_key_path: 'keyPath' },
  https2https: { plugin_local_addr: 'localAddr', plugin_host_header_rewrite: 'hostHeaderRewrite', plugin_crt_path: 'crtPath', plugin_key_path: 'keyPath' },
  http_proxy: { plugin_http_user: 'httpUser', plugin_http_passwd: 'httpPassword' },
  socks5: { plugin_user: 'username', plugin_passwd: 'password' },
  static_file: { plugin_local_path: 'localPath', plugin_strip_prefix: 'stripPrefix', plugin_http_user: 'httpUser', plugin_http_passwd: 'httpPassword' },
  unix_domain_socket: { plugin_unix_path: 'unixPath' },
}
/** Plugins whose `plugin_header_*` keys become requestHeaders.set. */
const PLUGIN_HEADERS = new Set(['http2https', 'https2http', 'https2https'])

/** The keys of a `[plugin.name]` section of frps.ini (frp's HTTPPluginOptions). */
const HTTP_PLUGIN: Readonly<Record<string, Rule>> = { addr: s('addr'), path: s('path'), ops: l('ops'), tlsVerify: b('tlsVerify') }

/** [common] keys frp's INI read and its conversion to v1 drops, with what replaced them. */
const DROPPED_BY_V1: Readonly<Record<string, string>> = {
  log_way: 'log_file says where logs go',
}

/** What Go's strconv.ParseBool takes, which frp's INI library uses. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', 'y', 'Y', 'yes', 'YES', 'Yes', 'on', 'ON', 'On'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False', 'n', 'N', 'no', 'NO', 'No', 'off', 'OFF', 'Off'])

/** Where a v1 path came from: the INI section and key, and the v1 path of its section. */
export interface LegacySource {
  /** `ssh.remote_port`, `common.bind_port`, or the section alone (`ssh`). */
  legacy: string
  /** The section's v1 path (`proxies[0]`, '' for [common]). */
  base: string
}

export interface LegacyProblem {
  offset: number
  message: string
  code: 'TUN_CONFIG_INVALID' | 'TUN_CONFIG_SYNTAX'
}

export interface LegacyConverted {
  /** The v1 data (what a frpc.yml / frps.yml with the same meaning holds). */
  data: Record<string, unknown>
  /** v1 path → offsets of the INI key it came from (the rendered text's offsets). */
  offsets: Map<string, PathOffsets>
  /** v1 path → the INI section and key it came from. */
  sources: Map<string, LegacySource>
  issues: LegacyProblem[]
  /** Keys read as frp reads them but worth knowing (ignored keys, duplicates). */
  notes: Array<{ offset: number, message: string }>
  /** v1 paths of numbers and booleans given by a template (`{{ .Envs.PORT }}`): text until rendered. */
  templated: Set<string>
}

/** `table[name]` for a name from the file: only the table's own entries (`__proto__`, `constructor` are names like any other). */
function ownValue<T> (table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined
}

/** `a.b` under `proxies[2]` → `proxies[2].a.b`. */
function join (base: string, path: string): string {
  return base === '' ? path : `${base}.${path}`
}

/**
 * Sets `path` (dotted, `proxies[2].a.b`) in `data`, then `leaf` below it when given: a free-form
 * map key from the file (a `meta_*` or `header_*` name), kept whole, dots and all. Every step is
 * an own property, so a name like `__proto__` is a key like any other and reaches no prototype.
 */
function setPath (data: Record<string, unknown>, path: string, value: unknown, leaf?: string): void {
  const segs: Array<string | number> = []
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segs.push(m[2] !== undefined ? Number(m[2]) : m[1] ?? '')
  if (leaf !== undefined) segs.push(leaf)
  const own = (holder: object, seg: string | number, v: unknown): void => {
    Object.defineProperty(holder, seg, { value: v, writable: true, enumerable: true, configurable: true })
  }
  let cur: object = data
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i] as string | number
    if (!Object.hasOwn(cur, seg)) own(cur, seg, typeof segs[i + 1] === 'number' ? [] : {})
    const next: unknown = (cur as Record<string | number, unknown>)[seg]
    if (next === null || typeof next !== 'object') return // a value is already there: the first one stays
    cur = next
  }
  own(cur, segs[segs.length - 1] as string | number, value)
}

/** The typed value of an INI text, as frp's INI library maps it; a text that is not one stays a string (the schema names it). */
function typed (kind: Kind, text: string): unknown {
  if (kind === 'int') return /^[+-]?\d{1,15}$/.test(text) ? Number(text) : text
  if (kind === 'bool') return TRUE.has(text) ? true : FALSE.has(text) ? false : text
  if (kind === 'list') return text.split(',').map((x) => x.trim()).filter((x) => x !== '')
  return text
}

/** frps.ini's allow_ports (`2000-3000,3001`) as the v1 list; a part that is not a port or range is a string the schema refuses. */
function allowPorts (text: string): unknown[] {
  return text.split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => {
    const range = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(p)
    if (range !== null) return { start: Number(range[1]), end: Number(range[2]) }
    return /^\d{1,5}$/.test(p) ? { single: Number(p) } : p
  })
}

/** A key a dotted section takes from a parent section (`from`: the parent's name). */
type SourcedKey = IniKey & { from?: string }

/** Key families frp reads from a section's own keys only (its KeysHash), never from a parent's. */
const OWN_ONLY = /^(meta_|header_|plugin_|oidc_additional_)/

class Converter {
  readonly data: Record<string, unknown> = {}
  /** The file's sections by name, for the parent lookups of dotted sections. */
  readonly sections = new Map<string, IniSection>()
  readonly offsets = new Map<string, PathOffsets>()
  readonly sources = new Map<string, LegacySource>()
  readonly issues: LegacyProblem[] = []
  readonly notes: Array<{ offset: number, message: string }> = []
  readonly templated = new Set<string>()

  /** Records `value` at `path` (and `leaf`, a map key from the file), located at `key` of `section`. */
  put (section: IniSection, base: string, path: string, value: unknown, key: IniKey | undefined, leaf?: string): void {
    setPath(this.data, join(base, path), value, leaf)
    if (key === undefined) return
    const full = join(base, leaf === undefined ? path : `${path}.${leaf}`)
    const legacy = `${(key as SourcedKey).from ?? section.name}.${key.name}`
    this.offsets.set(full, { key: key.keyOffset, value: key.valueOffset })
    this.sources.set(full, { legacy, base })
    // The blocks above it (`auth.oidc` of oidc_issuer) are where their first key is.
    const blocks = leaf === undefined ? path : `${path}.x`
    for (let cut = blocks.lastIndexOf('.'); cut > 0; cut = blocks.lastIndexOf('.', cut - 1)) {
      const parent = join(base, blocks.slice(0, cut))
      if (this.offsets.has(parent)) break
      this.offsets.set(parent, { key: key.keyOffset, value: key.keyOffset })
      this.sources.set(parent, { legacy, base })
    }
  }

  /** A section's own place (its header) for the v1 path of the entry it becomes. */
  place (section: IniSection, base: string): void {
    this.offsets.set(base, { key: section.offset, value: section.offset })
    this.sources.set(base, { legacy: section.name, base })
  }

  /** Converts the keys `rules` knows; returns the keys it did not know. */
  apply (section: IniSection, base: string, rules: Readonly<Record<string, Rule>>, keys: Iterable<IniKey>): IniKey[] {
    const rest: IniKey[] = []
    for (const key of keys) {
      const rule = ownValue(rules, key.name)
      if (rule === undefined) { rest.push(key); continue }
      if (key.value === '') continue // frp: an empty value leaves the default
      const value = typed(rule[1], key.value)
      if ((rule[1] === 'int' || rule[1] === 'bool') && typeof value === 'string' && value.includes('{{')) this.templated.add(join(base, rule[0]))
      this.put(section, base, rule[0], value, key)
    }
    return rest
  }

  /** `prefix_name = v` keys as a map at `path` (metas, headers, OIDC endpoint params). */
  prefixed (section: IniSection, base: string, prefix: string, path: string, keys: IniKey[]): IniKey[] {
    const rest: IniKey[] = []
    for (const key of keys) {
      const name = key.name.startsWith(prefix) ? key.name.slice(prefix.length) : ''
      if (name === '') { rest.push(key); continue }
      this.put(section, base, path, key.value, key, name)
    }
    return rest
  }

  /** Warnings for keys frp reads nowhere here (a parent's keys a dotted section took are the parent's business). */
  ignored (section: IniSection, keys: readonly IniKey[], what: string): void {
    for (const key of keys.filter((k: SourcedKey) => k.from === undefined)) {
      const dropped = section.name === 'common' ? ownValue(DROPPED_BY_V1, key.name) : undefined
      const name = `${section.name === '' ? '' : `${section.name}.`}${key.name}`
      const message = dropped !== undefined
        ? `${name} is a key frp's v1 format dropped (${dropped}); ignored, as frp does`
        : `${name} is not a key frp's INI format reads ${what}; ignored, as frp does`
      this.notes.push({ offset: key.keyOffset, message })
    }
  }

  problem (offset: number, message: string): void {
    this.issues.push({ offset, message, code: 'TUN_CONFIG_INVALID' })
  }

  common (section: IniSection, side: Side): void {
    let keys = [...section.keys.values()]
    keys = this.apply(section, '', side === 'client' ? COMMON_CLIENT : COMMON_SERVER, keys)
    const scopes: string[] = []
    const rest: IniKey[] = []
    for (const key of keys) {
      const scope = key.name === 'authenticate_heartbeats' ? 'HeartBeats' : key.name === 'authenticate_new_work_conns' ? 'NewWorkConns' : undefined
      if (scope === undefined) { rest.push(key); continue }
      if (typed('bool', key.value) === true) {
        scopes.push(scope)
        this.put(section, '', 'auth.additionalScopes', [...scopes], key)
      }
    }
    keys = rest
    if (side === 'client') {
      keys = this.prefixed(section, '', 'meta_', 'metadatas', keys)
      keys = this.prefixed(section, '', 'oidc_additional_', 'auth.oidc.additionalEndpointParams', keys)
    } else {
      keys = this.serverExtras(section, keys)
    }
    this.ignored(section, keys, `in [common] of ${side === 'client' ? 'frpc' : 'frps'}.ini`)
  }

  /** frps.ini's allow_ports and dashboard TLS keys. */
  serverExtras (section: IniSection, keys: IniKey[]): IniKey[] {
    const rest: IniKey[] = []
    const tlsMode = section.keys.get('dashboard_tls_mode')
    const tlsOn = tlsMode !== undefined && typed('bool', tlsMode.value) === true
    for (const key of keys) {
      if (key.name === 'allow_ports') {
        if (key.value !== '') this.put(section, '', 'allowPorts', allowPorts(key.value), key)
      } else if (key.name === 'dashboard_tls_mode') {
        if (!tlsOn && key.value !== '' && typed('bool', key.value) !== false) this.problem(key.valueOffset, `dashboard_tls_mode must be true or false, not ${JSON.stringify(key.value)}`)
      } else if (key.name === 'dashboard_tls_cert_file' || key.name === 'dashboard_tls_key_file') {
        const v1 = key.name === 'dashboard_tls_cert_file' ? 'certFile' : 'keyFile'
        if (tlsOn) this.put(section, '', `webServer.tls.${v1}`, key.value, key)
        else this.notes.push({ offset: key.keyOffset, message: `common.${key.name} is read only with dashboard_tls_mode = true; ignored, as frp does` })
      } else {
        rest.push(key)
      }
    }
    return rest
  }

  httpPlugin (own: IniSection): void {
    const section = this.withParents(own, own.name)
    const list = Array.isArray(this.data.httpPlugins) ? this.data.httpPlugins : []
    const base = `httpPlugins[${list.length}]`
    this.put(section, '', `${base}.name`, section.name.slice('plugin.'.length).trim(), undefined)
    this.place(section, base)
    this.offsets.set(`${base}.name`, { key: section.offset, value: section.offset })
    const rest = this.apply(section, base, HTTP_PLUGIN, section.keys.values())
    this.ignored(section, rest, 'in a [plugin.name] section')
  }

  /**
   * `section` as frp's INI library reads it under `name`: a key it lacks is taken from the nearest
   * parent section (`[web]` for `[web.api]`, then `[a]` for `[a.b.c]`), except the prefixed families
   * frp reads from the section's own keys. One note says which keys came from where.
   */
  withParents (section: IniSection, name: string): IniSection {
    const keys = new Map<string, IniKey>(section.keys)
    const taken: string[] = []
    for (let cut = name.lastIndexOf('.'); cut > 0; cut = name.lastIndexOf('.', cut - 1)) {
      const parent = this.sections.get(name.slice(0, cut))
      if (parent === undefined || parent === section) continue
      for (const [k, v] of parent.keys) {
        if (keys.has(k) || OWN_ONLY.test(k)) continue
        const sourced: SourcedKey = { ...v, from: parent.name }
        keys.set(k, sourced)
        taken.push(`${k} from [${parent.name}]`)
      }
    }
    if (taken.length > 0) this.notes.push({ offset: section.offset, message: `[${name}] takes ${taken.join(', ')}: frp's INI reads a dotted section as its parent's child` })
    return taken.length === 0 ? section : { ...section, keys }
  }

  /** One proxy or visitor section; `ports` overrides local_port/remote_port (a range: section's entry). */
  entry (own: IniSection, name: string, ports?: { local: number, remote: number }): void {
    const section = this.withParents(own, name)
    const role = section.keys.get('role')
    const roleText = role?.value === undefined || role.value === '' ? 'server' : role.value
    if (roleText !== 'server' && roleText !== 'visitor') {
      this.problem(role?.valueOffset ?? section.offset, `role must be server (a proxy) or visitor, not ${JSON.stringify(roleText)}`)
      return
    }
    const list = roleText === 'visitor' ? 'visitors' : 'proxies'
    const current = this.data[list]
    const base = `${list}[${Array.isArray(current) ? current.length : 0}]`
    const typeKey = section.keys.get('type')
    const type = typeKey === undefined || typeKey.value === '' ? 'tcp' : typeKey.value
    this.put(section, '', `${base}.name`, name, undefined)
    this.place(section, base)
    this.offsets.set(`${base}.name`, { key: section.offset, value: section.offset + 1 })
    this.put(section, base, 'type', type, typeKey)
    if (typeKey === undefined) this.offsets.set(`${base}.type`, { key: section.offset, value: section.offset })
    const keys = [...section.keys.values()].filter((k) => k.name !== 'type' && k.name !== 'role' && k.name !== 'name')
    if (roleText === 'visitor') {
      const rest = this.apply(section, base, type === 'xtcp' ? { ...VISITOR_BASE, ...VISITOR_XTCP } : VISITOR_BASE, keys)
      this.ignored(section, rest, `in a type ${type} visitor section`)
      return
    }
    const typeRules = ownValue(PROXY_TYPES, type)
    if (typeRules === undefined) {
      // The v1 schema names the supported types at the type key.
      this.apply(section, base, PROXY_BASE, keys)
      return
    }
    let rest = this.apply(section, base, { ...PROXY_BASE, ...typeRules }, keys)
    if (ports !== undefined) {
      this.put(section, base, 'localPort', ports.local, section.keys.get('local_port'))
      if ('remote_port' in typeRules) this.put(section, base, 'remotePort', ports.remote, section.keys.get('remote_port'))
    }
    rest = this.prefixed(section, base, 'meta_', 'metadatas', rest)
    if (type === 'http') rest = this.prefixed(section, base, 'header_', 'requestHeaders.set', rest)
    rest = this.pluginParams(section, base, rest)
    this.ignored(section, rest, `in a type ${type} proxy section`)
  }

  /** `plugin_*` keys: the ones frp's INI passes to the section's plugin. */
  pluginParams (section: IniSection, base: string, keys: IniKey[]): IniKey[] {
    const plugin = section.keys.get('plugin')?.value ?? ''
    const params = ownValue(PLUGIN_PARAMS, plugin) ?? {}
    const rest: IniKey[] = []
    for (const key of keys) {
      if (!key.name.startsWith('plugin_')) { rest.push(key); continue }
      const v1 = ownValue(params, key.name)
      const header = PLUGIN_HEADERS.has(plugin) && key.name.startsWith('plugin_header_') ? key.name.slice('plugin_header_'.length) : ''
      if (v1 !== undefined) {
        if (key.value !== '') this.put(section, base, `plugin.${v1}`, key.value, key)
      } else if (header !== '') {
        this.put(section, base, 'plugin.requestHeaders.set', key.value, key, header)
      } else {
        this.notes.push({ offset: key.keyOffset, message: `${section.name}.${key.name} is not read by frp's INI format for plugin ${JSON.stringify(plugin)}; ignored, as frp does` })
      }
    }
    return rest
  }

  /** `[range:name]`: one proxy per port pair, named name_0, name_1, … as frp names them. */
  range (own: IniSection): void {
    const section = this.withParents(own, own.name)
    const prefix = section.name.slice('range:'.length).trim()
    const local = section.keys.get('local_port')
    const remote = section.keys.get('remote_port')
    if (local === undefined || local.value === '' || remote === undefined || remote.value === '') {
      this.problem(section.offset, `[${section.name}] needs local_port and remote_port, each a list like 6010-6020,6022`)
      return
    }
    const locals = parseRangeNumbers(local.value)
    const remotes = parseRangeNumbers(remote.value)
    if (typeof locals === 'string') { this.problem(local.valueOffset, `local_port: ${locals}`); return }
    if (typeof remotes === 'string') { this.problem(remote.valueOffset, `remote_port: ${remotes}`); return }
    if (locals.length !== remotes.length) {
      this.problem(section.offset, `[${section.name}] has ${locals.length} local ports and ${remotes.length} remote ports; frp pairs them one to one, so the counts must match`)
      return
    }
    // frp copies the range section's own keys into each new section (which then has its own parents).
    locals.forEach((lp, i) => this.entry(own, `${prefix}_${i}`, { local: lp, remote: remotes[i] ?? 0 }))
  }
}

/** Client or server, by the keys of [common] only one side reads and by the other sections (proxies: client; [plugin.name]: server); undefined on a tie. */
export function legacyIniKind (text: string): Side | undefined {
  let client = 0
  let server = 0
  for (const section of parseIni(text).sections) {
    if (section.name === 'common') {
      for (const key of section.keys.keys()) {
        if (key in COMMON_CLIENT && !(key in COMMON_SERVER)) client++
        if (key in COMMON_SERVER && !(key in COMMON_CLIENT)) server++
      }
    } else if (section.name.startsWith('plugin.')) {
      server++
    } else if (section.name !== '' && section.name !== 'DEFAULT') {
      client++
    }
  }
  return client === server ? undefined : client > server ? 'client' : 'server'
}

/** frp's test for the format: a `[common]` section. Plus: every `.ini` file is INI. */
export function isLegacyIni (text: string, file: string): boolean {
  return file.toLowerCase().endsWith('.ini') || /^[ \t]*\[[ \t]*common[ \t]*\][ \t]*([#;].*)?\r?$/m.test(text)
}

/**
 * The INI text (already rendered) as v1 data for one side. `fragment`: a file `includes` adds
 * (frp reads its proxy sections; no [common]).
 */
export function convertLegacyIni (text: string, side: Side, opts: { fragment?: boolean } = {}): LegacyConverted {
  const ini: IniFile = parseIni(text)
  const c = new Converter()
  for (const p of ini.problems) {
    if (p.kind === 'syntax') c.issues.push({ offset: p.offset, message: `INI: ${p.message}`, code: 'TUN_CONFIG_SYNTAX' })
    else c.notes.push({ offset: p.offset, message: p.message })
  }
  for (const section of ini.sections) c.sections.set(section.name, section)
  const common = ini.sections.find((x) => x.name === 'common')
  if (common === undefined && opts.fragment !== true) c.problem(0, `frp's INI format needs a [common] section (the ${side === 'client' ? 'server address, token and other client settings' : 'relay settings'}); add one, even if empty`)
  for (const section of ini.sections) {
    if (section.name === '' || section.name === 'DEFAULT') {
      // frp's INI library calls the keys before the first header the DEFAULT section; frp reads neither.
      c.ignored(section, [...section.keys.values()], section.name === '' ? 'outside a section' : 'in [DEFAULT]')
    } else if (section.name === 'common') {
      if (opts.fragment === true) c.notes.push({ offset: section.offset, message: 'an included file\'s [common] is not read (frp takes [common] from the main file only); ignored, as frp does' })
      else c.common(section, side)
    } else if (side === 'server') {
      if (section.name.startsWith('plugin.')) c.httpPlugin(section)
      else c.notes.push({ offset: section.offset, message: `[${section.name}] is not read by frps (it reads [common] and [plugin.name] sections); ignored, as frp does` })
    } else if (section.name.startsWith('range:')) {
      c.range(section)
    } else {
      c.entry(section, section.name)
    }
  }
  return { data: c.data, offsets: c.offsets, sources: c.sources, issues: c.issues, notes: c.notes, templated: c.templated }
}

/** `proxies[0].remotePort` → `ssh.remote_port (remotePort)`; `proxies[0].localPort` (absent) → `ssh (localPort)`; unknown → as is. */
export function legacyLabel (sources: ReadonlyMap<string, LegacySource>, path: string): string {
  if (path === '') return path
  let p = path
  for (;;) {
    const hit = sources.get(p)
    if (hit !== undefined) {
      const rel = hit.base === '' ? path : path.slice(hit.base.length).replace(/^\./, '')
      return rel === '' ? hit.legacy : `${hit.legacy} (${rel})`
    }
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['))
    if (cut <= 0) return path
    p = p.slice(0, cut)
  }
}
