// Host names for virtual hosts: the domains a proxy claims (customDomains, subdomain + the relay's
// subDomainHost), the Host header of a request and the server name of a TLS ClientHello, all
// brought to one form so they compare as strings: lower case, no trailing dot, no port, ASCII
// (an internationalised name becomes its punycode form). Pure functions.
import { domainToASCII } from 'node:url'
import { isIP } from 'node:net'

export const MAX_DOMAIN_CHARS = 253
const MAX_LABEL_CHARS = 63
/** Letters, digits, hyphen; underscore too (seen in real host names, harmless for routing). */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/
/** The catch-all domain: every host no other proxy claims (frp's `*`). */
export const CATCH_ALL = '*'

/** `name` as ASCII lower case without a trailing dot, or undefined when it is not a host name. */
export function normalizeHostName (name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_DOMAIN_CHARS + 1) return undefined
  let host = name.toLowerCase()
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (/[^\x21-\x7e]/.test(host)) {
    const ascii = domainToASCII(host)
    if (ascii === '') return undefined
    host = ascii
  }
  if (host.length === 0 || host.length > MAX_DOMAIN_CHARS) return undefined
  const labels = host.split('.')
  if (!labels.every((l) => l.length <= MAX_LABEL_CHARS && LABEL.test(l))) return undefined
  return host
}

/**
 * A domain a proxy may claim: a host name, `*.` + a host name (every name below it, at any
 * depth), or `*` (the catch-all). Normalised, or undefined when it is none of these.
 */
export function normalizeDomain (domain: string): string | undefined {
  if (domain === CATCH_ALL) return CATCH_ALL
  if (domain.startsWith('*.')) {
    const rest = normalizeHostName(domain.slice(2))
    return rest === undefined ? undefined : `*.${rest}`
  }
  return normalizeHostName(domain)
}

/** frp's rule for `subdomain`: one label, no dots, no wildcard. */
export function isSubdomainLabel (label: string): boolean {
  return label.length > 0 && label.length <= MAX_LABEL_CHARS && LABEL.test(label.toLowerCase())
}

/**
 * The host of a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), normalised; IP
 * literals are kept as they are (IPv6 without brackets). Undefined when the value is malformed.
 */
export function hostFromHeader (value: string): string | undefined {
  const v = value.trim()
  if (v.startsWith('[')) {
    const close = v.indexOf(']')
    if (close < 0) return undefined
    const inside = v.slice(1, close).toLowerCase()
    const rest = v.slice(close + 1)
    if (isIP(inside) !== 6 || !(rest === '' || /^:\d{0,5}$/.test(rest))) return undefined
    return inside
  }
  const colon = v.indexOf(':')
  const name = colon < 0 ? v : v.slice(0, colon)
  if (colon >= 0 && !/^\d{0,5}$/.test(v.slice(colon + 1))) return undefined
  return normalizeHostName(name)
}

/**
 * Where a lookup for `host` goes, most specific first: the name itself, then `*.` + each parent
 * that still has at least two labels (frp's order: `a.b.example.com` tries `*.b.example.com`,
 * then `*.example.com`, never `*.com`), then the catch-all.
 */
export function lookupOrder (host: string): string[] {
  const out = [host]
  const labels = host.split('.')
  for (let i = 1; labels.length - i >= 2; i++) out.push(`*.${labels.slice(i).join('.')}`)
  out.push(CATCH_ALL)
  return out
}
