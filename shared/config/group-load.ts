// Defaults for the keys of group-schema.ts (frp's Complete()): tcpmux proxies, loadBalancer,
// healthCheck and metadatas of proxies, frpc.yml's metadatas, and frps.yml's tcpmux port and
// httpPlugins. The counterpart of load.ts for these keys.
import { Secret } from '../secret.js'
import type { ClientInput, ServerInput } from './schema.js'
import { GROUP_DEFAULTS, type BandwidthRules, type ClientConfig, type HealthCheckConfig, type HttpPluginConfig, type ProxyExtras, type ServerConfig, type SourceRules, type TcpmuxProxyConfig } from './types.js'

type ProxyInput = NonNullable<ClientInput['proxies']>[number]
type HealthInput = NonNullable<ProxyInput['healthCheck']>

export function completeGroupServer (d: ServerInput): Pick<ServerConfig, 'tcpmuxHTTPConnectPort' | 'tcpmuxPassthrough' | 'httpPlugins'> {
  return {
    tcpmuxHTTPConnectPort: d.tcpmuxHTTPConnectPort ?? 0,
    tcpmuxPassthrough: d.tcpmuxPassthrough ?? false,
    httpPlugins: (d.httpPlugins ?? []).map((p): HttpPluginConfig => ({ name: p.name, addr: p.addr, path: p.path, ops: [...new Set(p.ops)], tlsVerify: p.tlsVerify ?? true })),
  }
}

interface Common extends SourceRules, BandwidthRules {
  name: string
  localIP: string
  localPort: number
}

export function completeTcpmuxProxy (p: ProxyInput, common: Common): TcpmuxProxyConfig {
  return {
    ...common,
    type: 'tcpmux',
    customDomains: p.customDomains ?? [],
    subdomain: p.subdomain ?? '',
    multiplexer: p.multiplexer ?? 'httpconnect',
    httpUser: p.httpUser ?? '',
    httpPassword: p.httpPassword === undefined || p.httpPassword === '' ? null : new Secret(Buffer.from(p.httpPassword, 'utf8')),
    routeByHTTPUser: p.routeByHTTPUser ?? '',
    proxyProtocolVersion: p.transport?.proxyProtocolVersion ?? null,
  }
}

/** frp reads 0 or less as "the default". */
const orDefault = (v: number | undefined, fallback: number): number => (v === undefined || v <= 0 ? fallback : v)

export function completeHealthCheck (h: HealthInput): HealthCheckConfig {
  return {
    type: h.type,
    timeoutSeconds: orDefault(h.timeoutSeconds, GROUP_DEFAULTS.healthCheckTimeoutSeconds),
    maxFailed: orDefault(h.maxFailed, GROUP_DEFAULTS.healthCheckMaxFailed),
    intervalSeconds: orDefault(h.intervalSeconds, GROUP_DEFAULTS.healthCheckIntervalSeconds),
    path: h.type === 'http' ? h.path ?? '' : '',
    httpHeaders: h.type === 'http' ? (h.httpHeaders ?? []).map((x) => ({ name: x.name, value: x.value })) : [],
  }
}

/** The keys a proxy of the file adds (loadBalancer, healthCheck, metadatas); none when absent. */
export function proxyExtras (p: ProxyInput): ProxyExtras {
  return {
    ...(p.loadBalancer === undefined ? {} : { loadBalancer: { group: p.loadBalancer.group, groupKey: p.loadBalancer.groupKey ?? '' } }),
    ...(p.healthCheck === undefined ? {} : { healthCheck: completeHealthCheck(p.healthCheck) }),
    ...(p.metadatas === undefined || Object.keys(p.metadatas).length === 0 ? {} : { metadatas: { ...p.metadatas } }),
  }
}

/** The client config with what the file's proxies and top level add (matched by name: names are unique). */
export function withGroupKeys (config: ClientConfig, d: ClientInput): ClientConfig {
  const byName = new Map((d.proxies ?? []).map((p) => [p.name, p]))
  const proxies = config.proxies.map((c) => {
    const p = byName.get(c.name)
    return p === undefined ? c : { ...c, ...proxyExtras(p) }
  })
  const metadatas = d.metadatas === undefined || Object.keys(d.metadatas).length === 0 ? {} : { metadatas: { ...d.metadatas } }
  return { ...config, proxies, ...metadatas }
}

/**
 * The URL a plugin's requests go to: frp joins addr and path, and takes addr without a scheme
 * as http. Only http and https, with a host; the query is the relay's (version and op).
 */
export function pluginUrl (addr: string, path: string): URL | { error: string } {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`
  let url: URL
  try {
    url = new URL(base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`))
  } catch {
    return { error: `${JSON.stringify(addr.slice(0, 80))} with path ${JSON.stringify(path.slice(0, 80))} is not a URL: give host:port, http://host:port or https://host:port` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `${url.protocol} is not offered: a plugin is reached over http or https` }
  if (url.hostname === '') return { error: 'the address names no host' }
  if (url.search !== '' || url.hash !== '') return { error: 'addr and path may not carry a query or fragment (the relay adds ?version=...&op=...)' }
  if (url.username !== '' || url.password !== '') return { error: 'addr may not carry credentials' }
  return url
}
