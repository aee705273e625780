// Cross-field checks of load-balancing groups, health checks, tcpmux proxies and relay plugins
// (the keys of group-schema.ts). Same contract as checks.ts: look only at values of the right
// type, report every problem with its place.
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { pluginUrl } from './group-load.js'
import { locate, type ConfigPath } from './locate.js'
import { SERVER_DEFAULTS } from './types.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'

/** Proxy types that may be members of a group or run a health check. */
export const GROUP_TYPES: ReadonlySet<unknown> = new Set(['tcp', 'http', 'tcpmux'])

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function issue (ctx: CheckContext, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: at(ctx, path, key) }
}

function proxyIssues (ctx: CheckContext, i: number, p: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const base: ConfigPath = ['proxies', i]
  if (typeof p.type !== 'string') return issues
  for (const key of ['loadBalancer', 'healthCheck']) {
    if (Object.hasOwn(p, key) && !GROUP_TYPES.has(p.type)) {
      issues.push(issue(ctx, [...base, key], `${key} is offered on tcp, http and tcpmux proxies, not on ${p.type}; remove it`, true))
    }
  }
  const hc = valueAt(p, ['healthCheck'])
  if (isRecord(hc)) {
    if (hc.type === 'http' && (typeof hc.path !== 'string' || hc.path === '')) {
      issues.push(issue(ctx, [...base, 'healthCheck', 'type'], 'an http health check needs path (e.g. path: /healthz): it asks for that path and wants a 2xx answer'))
    }
    for (const key of ['path', 'httpHeaders']) {
      if (hc.type === 'tcp' && Object.hasOwn(hc, key)) issues.push(issue(ctx, [...base, 'healthCheck', key], `${key} applies only to http health checks (a tcp check only connects); remove it or use type: http`, true))
    }
  }
  for (const key of ['multiplexer', 'routeByHTTPUser']) {
    if (Object.hasOwn(p, key) && p.type !== 'tcpmux' && !(key === 'routeByHTTPUser' && p.type === 'http')) {
      const why = key === 'routeByHTTPUser' ? 'it applies only to type http and tcpmux proxies' : 'it applies only to type tcpmux proxies'
      issues.push(issue(ctx, [...base, key], `${key}: ${why}; remove it`, true))
    }
  }
  if (p.type !== 'tcpmux') return issues
  if (Object.hasOwn(p, 'remotePort')) {
    issues.push(issue(ctx, [...base, 'remotePort'], 'a tcpmux proxy has no port of its own: it is served on the relay\'s tcpmuxHTTPConnectPort by its domains; remove remotePort', true))
  }
  const domains = valueAt(p, ['customDomains'])
  const sub = valueAt(p, ['subdomain'])
  if ((!Array.isArray(domains) || domains.length === 0) && (typeof sub !== 'string' || sub === '')) {
    issues.push(issue(ctx, [...base, 'type'], 'a tcpmux proxy needs customDomains (e.g. [ssh.example.com]) or subdomain: visitors choose it by the host of their CONNECT request'))
  }
  return issues
}

/** Two proxies of one file in one group must agree on what they share (the relay refuses the second otherwise). */
function groupAgreement (ctx: CheckContext, proxies: Array<[number, Record<string, unknown>]>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const first = new Map<string, [number, Record<string, unknown>]>()
  for (const [i, p] of proxies) {
    const group = valueAt(p, ['loadBalancer', 'group'])
    if (typeof group !== 'string' || p.enabled === false) continue
    const prev = first.get(group)
    if (prev === undefined) { first.set(group, [i, p]); continue }
    const [j, q] = prev
    const differs = ['type', 'remotePort', 'customDomains', 'subdomain', 'locations', 'routeByHTTPUser'].find((k) => JSON.stringify(p[k]) !== JSON.stringify(q[k]))
    if (differs !== undefined) {
      issues.push(issue(ctx, ['proxies', i, 'loadBalancer', 'group'], `group ${group} is also used by proxies[${j}] with another ${differs}: members of one group share one type, remotePort and domains`))
    } else if (p.type === 'http' && (valueAt(p, ['transport', 'proxyProtocolVersion']) === undefined) !== (valueAt(q, ['transport', 'proxyProtocolVersion']) === undefined)) {
      issues.push(issue(ctx, ['proxies', i, 'loadBalancer', 'group'], `group ${group} is also used by proxies[${j}], which ${valueAt(q, ['transport', 'proxyProtocolVersion']) === undefined ? 'sends no' : 'sends a'} PROXY header: the http members of one group all set transport.proxyProtocolVersion or none does (the relay would refuse one of them)`))
    } else if (JSON.stringify(valueAt(p, ['loadBalancer', 'groupKey'])) !== JSON.stringify(valueAt(q, ['loadBalancer', 'groupKey']))) {
      issues.push(issue(ctx, ['proxies', i, 'loadBalancer', 'groupKey'], `group ${group} has another groupKey in proxies[${j}]: the relay would refuse one of them`))
    }
  }
  return issues
}

function clientIssues (ctx: CheckContext): ConfigIssue[] {
  const list = valueAt(ctx.data, ['proxies'])
  if (!Array.isArray(list)) return []
  const proxies = list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) ? [[i, p]] : []))
  return [...proxies.flatMap(([i, p]) => proxyIssues(ctx, i, p)), ...groupAgreement(ctx, proxies)]
}

function serverIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const mux = valueAt(ctx.data, ['tcpmuxHTTPConnectPort'])
  if (Number.isSafeInteger(mux) && (mux as number) > 0) {
    const bind = valueAt(ctx.data, ['bindPort']) ?? SERVER_DEFAULTS.bindPort
    for (const key of ['bindPort', 'vhostHTTPPort', 'vhostHTTPSPort']) {
      const other = key === 'bindPort' ? bind : valueAt(ctx.data, [key])
      if (other === mux) issues.push(issue(ctx, ['tcpmuxHTTPConnectPort'], `tcpmuxHTTPConnectPort ${String(mux)} is also ${key}; give it a port of its own`))
    }
  }
  if (valueAt(ctx.data, ['tcpmuxPassthrough']) === true && !(Number.isSafeInteger(mux) && (mux as number) > 0)) {
    issues.push(issue(ctx, ['tcpmuxPassthrough'], 'tcpmuxPassthrough needs tcpmuxHTTPConnectPort: without it no tcpmux proxy is served', true))
  }
  const plugins = valueAt(ctx.data, ['httpPlugins'])
  if (!Array.isArray(plugins)) return issues
  const names = new Map<string, number>()
  plugins.forEach((p: unknown, i) => {
    if (!isRecord(p)) return
    if (typeof p.name === 'string') {
      const prev = names.get(p.name)
      if (prev !== undefined) issues.push(issue(ctx, ['httpPlugins', i, 'name'], `plugin name ${p.name} is already used by httpPlugins[${prev}]; names must be unique`))
      else names.set(p.name, i)
    }
    if (typeof p.addr === 'string' && typeof p.path === 'string') {
      const url = pluginUrl(p.addr, p.path)
      if ('error' in url) issues.push(issue(ctx, ['httpPlugins', i, 'addr'], url.error))
    }
    if (Object.hasOwn(p, 'tlsVerify') && typeof p.addr === 'string' && !/^https:\/\//i.test(p.addr)) {
      issues.push(issue(ctx, ['httpPlugins', i, 'tlsVerify'], 'tlsVerify applies only to an https:// addr; remove it', true))
    }
  })
  return issues
}

export function groupIssues (ctx: CheckContext): ConfigIssue[] {
  return ctx.side === 'server' ? serverIssues(ctx) : clientIssues(ctx)
}

/** Warnings for a valid file: a group that only its own client key can join, a plugin reached in clear text. */
export function groupWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  const out: Array<{ message: string, location: ConfigLocation }> = []
  if (ctx.side === 'client') {
    const list = valueAt(ctx.data, ['proxies'])
    if (!Array.isArray(list)) return out
    list.forEach((p: unknown, i) => {
      if (!isRecord(p) || p.enabled === false) return
      const lb = valueAt(p, ['loadBalancer'])
      if (!isRecord(lb) || typeof lb.group !== 'string') return
      const key = lb.groupKey
      if (key === undefined || key === '') {
        out.push({ message: `loadBalancer.group ${lb.group} has no groupKey: only proxies of this client (its key) can join the group; another client's member is refused (TUN_GROUP_KEY). Give every member the same groupKey to share it`, location: at(ctx, ['proxies', i, 'loadBalancer', 'group']) })
      }
    })
    return out
  }
  const plugins = valueAt(ctx.data, ['httpPlugins'])
  if (!Array.isArray(plugins)) return out
  plugins.forEach((p: unknown, i) => {
    if (!isRecord(p) || typeof p.addr !== 'string' || typeof p.path !== 'string') return
    const url = pluginUrl(p.addr, p.path)
    if ('error' in url || url.protocol === 'https:') return
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (host === 'localhost' || host === '::1' || host.startsWith('127.')) return
    out.push({ message: `httpPlugins ${String(p.name)} is reached over plain http on ${url.host}: what the relay asks it (users, metadatas, proxies with their http_pwd and group_key) crosses the network unencrypted; use https:// or a loopback address`, location: at(ctx, ['httpPlugins', i, 'addr']) })
  })
  return out
}
