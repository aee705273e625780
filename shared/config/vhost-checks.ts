// Cross-field checks for virtual hosts: which keys belong to which proxy type, a domain (and
// location) claimed twice in one frpc.yml (a warning), and in frps.yml vhost ports that collide with bindPort
// or each other. Same contract as checks.ts: look only at values of the right type, report all.
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { isHeaderName, normalizeDomain, normalizeLocation } from '../http/index.js'
import { locate, type ConfigPath } from './locate.js'
import { SERVER_DEFAULTS } from './types.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'

const HTTP_ONLY_KEYS = ['locations', 'hostHeaderRewrite', 'requestHeaders', 'responseHeaders', 'httpUser', 'httpPassword'] as const
const VHOST_KEYS = ['customDomains', 'subdomain'] as const
const VHOST_TYPES: ReadonlySet<unknown> = new Set(['http', 'https'])

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function issue (ctx: CheckContext, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: at(ctx, path, key) }
}

/** The keys of one proxy that do not fit its type. */
function keyIssues (ctx: CheckContext, i: number, p: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const base: ConfigPath = ['proxies', i]
  const vhost = VHOST_TYPES.has(p.type)
  if (typeof p.type !== 'string' || !['tcp', 'udp', 'http', 'https', 'tcpmux'].includes(p.type)) return issues
  // tcpmux proxies have domains and basic-auth credentials too (group-checks.ts checks the rest).
  const tcpmux = p.type === 'tcpmux'
  for (const key of HTTP_ONLY_KEYS) {
    if (Object.hasOwn(p, key) && p.type !== 'http' && !(tcpmux && (key === 'httpUser' || key === 'httpPassword'))) issues.push(issue(ctx, [...base, key], `${key} applies only to type http proxies; remove it`, true))
  }
  for (const key of VHOST_KEYS) {
    if (Object.hasOwn(p, key) && !vhost && !tcpmux) issues.push(issue(ctx, [...base, key], `${key} applies only to type http and https proxies; remove it`, true))
  }
  for (const key of ['requestHeaders', 'responseHeaders']) {
    const set = valueAt(p, [key, 'set'])
    if (!isRecord(set)) continue
    for (const name of Object.keys(set)) {
      if (!isHeaderName(name)) issues.push(issue(ctx, [...base, key, 'set', name], `${JSON.stringify(name.slice(0, 80))} is not a header name (letters, digits and !#$%&'*+-.^_\`|~, at most 64)`, true))
    }
  }
  if (!vhost) return issues
  if (Object.hasOwn(p, 'remotePort')) {
    issues.push(issue(ctx, [...base, 'remotePort'], `an ${p.type} proxy has no port of its own: it is served on the relay's ${p.type === 'http' ? 'vhostHTTPPort' : 'vhostHTTPSPort'} by its domains; remove remotePort`, true))
  }
  const domains = valueAt(p, ['customDomains'])
  const sub = valueAt(p, ['subdomain'])
  if ((!Array.isArray(domains) || domains.length === 0) && (typeof sub !== 'string' || sub === '')) {
    issues.push(issue(ctx, [...base, 'type'], `an ${p.type} proxy needs customDomains (e.g. [www.example.com]) or subdomain`))
  }
  return issues
}

/**
 * Two enabled proxies of this file claiming the same domain (and location, for http). A warning,
 * not an error: the relay gives the name to the first to register and refuses the other alone
 * (TUN_VHOST_CONFLICT), as frp's does; frp's own full example has two https proxies on one name.
 */
export function duplicateDomainWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  const list = valueAt(ctx.data, ['proxies'])
  if (ctx.side !== 'client' || !Array.isArray(list)) return []
  const proxies = list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) ? [[i, p]] : []))
  const issues: Array<{ message: string, location: ConfigLocation }> = []
  const claimed = new Map<string, number>()
  for (const [i, p] of proxies) {
    // Members of one load-balancing group share their domains (group-checks.ts checks they agree).
    if (!VHOST_TYPES.has(p.type) || p.enabled === false || !Array.isArray(p.customDomains) || isRecord(p.loadBalancer)) continue
    const locations = p.type === 'http' && Array.isArray(p.locations) && p.locations.length > 0 ? p.locations : ['/']
    p.customDomains.forEach((d: unknown, j) => {
      const domain = typeof d === 'string' ? normalizeDomain(d) : undefined
      if (domain === undefined) return
      for (const l of locations) {
        const n = typeof l === 'string' ? normalizeLocation(l) : undefined
        if (n === undefined || 'problem' in n) continue
        // http proxies of one domain and location may differ by routeByHTTPUser (each user its own).
        const user = p.type === 'http' && typeof p.routeByHTTPUser === 'string' ? p.routeByHTTPUser : ''
        const slot = `${String(p.type)} ${domain} ${n.location} ${user}`
        const first = claimed.get(slot)
        if (first === undefined) { claimed.set(slot, i); continue }
        if (first === i) continue
        const what = p.type === 'http' ? `${domain} (location ${n.location}${user === '' ? '' : `, routeByHTTPUser ${user}`})` : domain
        issues.push({ message: `${what} is also claimed by proxies[${first}]: the relay serves it by the first proxy to register and refuses the other (TUN_VHOST_CONFLICT); give each domain and location one proxy`, location: at(ctx, ['proxies', i, 'customDomains', j]) })
      }
    })
  }
  return issues
}

function clientIssues (ctx: CheckContext): ConfigIssue[] {
  const list = valueAt(ctx.data, ['proxies'])
  if (!Array.isArray(list)) return []
  const proxies = list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) ? [[i, p]] : []))
  return proxies.flatMap(([i, p]) => keyIssues(ctx, i, p))
}

function serverIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const num = (key: string): number | undefined => {
    const v = valueAt(ctx.data, [key])
    return Number.isSafeInteger(v) && (v as number) > 0 ? v as number : undefined
  }
  const bindPort = valueAt(ctx.data, ['bindPort']) === undefined ? SERVER_DEFAULTS.bindPort : num('bindPort')
  const http = num('vhostHTTPPort')
  const https = num('vhostHTTPSPort')
  if (http !== undefined && http === bindPort) issues.push(issue(ctx, ['vhostHTTPPort'], `vhostHTTPPort ${http} is also bindPort; give it a port of its own (only vhostHTTPSPort may share bindPort, as in frp)`))
  if (http !== undefined && http === https) issues.push(issue(ctx, ['vhostHTTPSPort'], `vhostHTTPSPort ${https} is also vhostHTTPPort; use two ports (usually 443 and 80)`))
  const sub = valueAt(ctx.data, ['subDomainHost'])
  if (typeof sub === 'string' && sub !== '' && http === undefined && https === undefined && num('tcpmuxHTTPConnectPort') === undefined) {
    issues.push(issue(ctx, ['subDomainHost'], 'subDomainHost needs vhostHTTPPort, vhostHTTPSPort or tcpmuxHTTPConnectPort: without one no proxy is served by name'))
  }
  return issues
}

/** vhostHTTPSPort equal to bindPort (frp's shared port): what the clients must do then. */
export function sharedPortWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  if (ctx.side !== 'server') return []
  const https = valueAt(ctx.data, ['vhostHTTPSPort'])
  const bind = valueAt(ctx.data, ['bindPort']) ?? SERVER_DEFAULTS.bindPort
  if (typeof https !== 'number' || !Number.isSafeInteger(https) || https <= 0 || https !== bind) return []
  return [{
    message: `vhostHTTPSPort ${https} is also bindPort: https visitors and clients share it (a plain TLS hello goes to the https vhost); clients that use TLS must mark it with transport.tls.disableCustomTLSFirstByte: false, as frp's clients must`,
    location: at(ctx, ['vhostHTTPSPort'], true),
  }]
}

export function vhostIssues (ctx: CheckContext): ConfigIssue[] {
  return ctx.side === 'server' ? serverIssues(ctx) : clientIssues(ctx)
}
