// What the relay accepts from a client's http/https proxy registration, in normal form; a bad
// domain, location or header refuses that proxy alone with a message naming the value (the
// client's config check catches the same things earlier, but the relay trusts nothing it is sent).
import { TunnelError } from '../../shared/errors.js'
import { isHeaderName, isHeaderValue, isSubdomainLabel, normalizeDomain, normalizeHostName, normalizeLocation } from '../../shared/http/index.js'
import type { HttpProxySpec, HttpsProxySpec } from '../../shared/wire/index.js'

const invalid = (message: string): TunnelError => new TunnelError('TUN_PROXY_INVALID', message)

/** customDomains plus subdomain.subDomainHost, normalised and without repeats. */
export function resolveDomains (spec: Pick<HttpProxySpec | HttpsProxySpec, 'customDomains' | 'subdomain'>, subDomainHost: string): string[] {
  const out = new Set<string>()
  for (const d of spec.customDomains) {
    const n = normalizeDomain(d)
    if (n === undefined) throw invalid(`customDomains: ${JSON.stringify(d.slice(0, 80))} is not a domain (a host name, *.host name, or *)`)
    out.add(n)
  }
  if (spec.subdomain !== undefined && spec.subdomain !== '') {
    if (subDomainHost === '') throw invalid(`subdomain ${JSON.stringify(spec.subdomain)} needs subDomainHost in the relay's frps.yml, which it does not set; use customDomains`)
    if (!isSubdomainLabel(spec.subdomain)) throw invalid(`subdomain ${JSON.stringify(spec.subdomain.slice(0, 80))} must be one label (letters, digits, -), without dots or *`)
    const full = normalizeHostName(`${spec.subdomain}.${subDomainHost}`)
    if (full === undefined) throw invalid(`subdomain ${spec.subdomain}.${subDomainHost} is too long for a domain`)
    out.add(full)
  }
  if (out.size === 0) throw invalid('an http or https proxy needs customDomains or subdomain')
  return [...out]
}

/** locations in normal form; none means every path (`/`). */
export function resolveLocations (locations: readonly string[]): string[] {
  if (locations.length === 0) return ['/']
  const out = new Set<string>()
  for (const l of locations) {
    const n = normalizeLocation(l)
    if ('problem' in n) throw invalid(`locations: ${JSON.stringify(l.slice(0, 80))} ${n.problem}`)
    out.add(n.location)
  }
  return [...out]
}

/** A header map the relay will set: names are tokens, values have no line breaks. */
export function checkHeaders (key: string, headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!isHeaderName(name)) throw invalid(`${key}: ${JSON.stringify(name.slice(0, 80))} is not a header name`)
    if (!isHeaderValue(value)) throw invalid(`${key}.${name}: the value has a line break or control character`)
    out[name] = value
  }
  return out
}

export function checkHostRewrite (value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  if (!isHeaderValue(value) || /[\s/@]/.test(value)) throw invalid(`hostHeaderRewrite: ${JSON.stringify(value.slice(0, 80))} is not a host`)
  return value
}

/**
 * The (domain, location) pairs a spec lists, before any check: (customDomains, plus subdomain)
 * x locations (at least one; https: one per domain). Repeats count: it bounds what the proxy
 * claims and costs nothing to compute, so the relay's caps refuse a flood before normalising it.
 */
export function listedRoutes (spec: HttpProxySpec | HttpsProxySpec): number {
  const domains = spec.customDomains.length + (spec.subdomain !== undefined && spec.subdomain !== '' ? 1 : 0)
  return domains * (spec.type === 'http' ? Math.max(1, spec.locations.length) : 1)
}
