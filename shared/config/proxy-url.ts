// transport.proxyURL (frp's key): the HTTP or SOCKS5 proxy a client reaches the relay through,
// and the environment's proxy when the key is absent. frp reads only `http_proxy`; we read it
// too (so an frp user's machine behaves the same), then `HTTP_PROXY`, and for wss `https_proxy` /
// `HTTPS_PROXY` first, as curl does for https. Unlike frp we honour `NO_PROXY` / `no_proxy`, so a
// relay on the LAN is not sent through a proxy that a shell profile set for the web.
import { isIP } from 'node:net'
import { Secret } from '../secret.js'
import { isCidr, SourceFilter, unbracket } from '../net/index.js'

export type ProxyScheme = 'http' | 'https' | 'socks5'

export interface ProxyUrl {
  /** http: CONNECT in clear to the proxy; https: CONNECT inside TLS to the proxy; socks5: RFC 1928. */
  scheme: ProxyScheme
  host: string
  port: number
  /** '' = no credentials. */
  user: string
  password: Secret | null
  /** Where it came from: `transport.proxyURL` or the environment variable's name. */
  source: string
}

const DEFAULT_PORTS: Record<ProxyScheme, number> = { http: 80, https: 443, socks5: 1080 }
/** Longest proxyURL (or environment value) we look at. */
export const MAX_PROXY_URL_CHARS = 2048

/** `scheme://host:port` without credentials: what logs and messages show. */
export function describeProxy (p: ProxyUrl): string {
  const host = isIP(p.host) === 6 ? `[${p.host}]` : p.host
  return `${p.scheme}://${host}:${p.port}`
}

/** A proxy URL, or why it cannot be used. Never echoes the credentials. */
export function parseProxyUrl (text: string, source: string): ProxyUrl | { problem: string } {
  if (text.length > MAX_PROXY_URL_CHARS) return { problem: `is longer than ${MAX_PROXY_URL_CHARS} characters` }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { problem: 'is not a URL like http://user:pass@proxy.example.com:3128 or socks5://proxy.example.com:1080' }
  }
  const raw = url.protocol.replace(/:$/, '').toLowerCase()
  if (raw === 'ntlm') return { problem: 'is an NTLM proxy, which this client does not speak: use an http:// proxy with Basic credentials, or socks5://' }
  // socks5h (resolve at the proxy) is what we always do: the relay's name goes to the proxy.
  const scheme = raw === 'socks5h' ? 'socks5' : raw
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5') {
    return { problem: `has the scheme ${raw}: use http://, https:// or socks5://` }
  }
  if (url.hostname === '') return { problem: 'has no host' }
  if (url.pathname !== '/' && url.pathname !== '') {
    return { problem: 'has a path: give only scheme://[user:password@]host:port' }
  }
  let user: string
  let password: string
  try {
    user = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    return { problem: 'has a user name or password that is not valid percent-encoding' }
  }
  if (scheme === 'socks5' && (Buffer.byteLength(user) > 255 || Buffer.byteLength(password) > 255)) {
    return { problem: 'has a user name or password longer than SOCKS5 allows (255 bytes each)' }
  }
  return {
    scheme,
    host: unbracket(url.hostname),
    port: url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port),
    user,
    password: password === '' ? null : new Secret(Buffer.from(password, 'utf8')),
    source,
  }
}

/** The environment variables that can name a proxy, in the order they are read. */
export function proxyEnvNames (secure: boolean): string[] {
  return secure ? ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] : ['http_proxy', 'HTTP_PROXY']
}

/**
 * The environment's proxy for a relay at `host:port` (secure: transport.protocol wss), or
 * undefined: none set, or NO_PROXY / no_proxy names the relay.
 */
export function proxyFromEnv (env: Readonly<Record<string, string | undefined>>, secure: boolean, host: string, port: number): { name: string, value: string } | undefined {
  const name = proxyEnvNames(secure).find((n) => (env[n] ?? '') !== '')
  if (name === undefined) return undefined
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? ''
  if (noProxyMatches(noProxy, host, port)) return undefined
  return { name, value: env[name] ?? '' }
}

/**
 * curl's NO_PROXY rules: `*` matches everything; an entry matches the host itself and (with or
 * without a leading dot) every name under it; `host:port` only that port; IP addresses match
 * exactly, or by CIDR (`10.0.0.0/8`).
 */
export function noProxyMatches (list: string, host: string, port: number): boolean {
  const h = unbracket(host).toLowerCase()
  for (const raw of list.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if (entry === '*') return true
    const portMatch = /^(.*[^:\]]):(\d+)$/.exec(entry)
    if (portMatch !== null && !entry.startsWith('[') && (entry.match(/:/g) ?? []).length === 1) {
      if (Number(portMatch[2]) !== port) continue
      entry = portMatch[1] ?? ''
    }
    entry = unbracket(entry.replace(/^\[(.*)\](:\d+)?$/, '$1'))
    if (entry.includes('/')) {
      if (isIP(h) !== 0 && isCidr(entry) && new SourceFilter([entry], []).admits(h)) return true
      continue
    }
    const bare = entry.replace(/^\./, '')
    if (h === bare || (isIP(h) === 0 && h.endsWith(`.${bare}`))) return true
  }
  return false
}
