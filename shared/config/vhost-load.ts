// Defaults for the virtual-host keys of frps.yml and for http/https proxies of frpc.yml (the
// counterpart of load.ts's completeServer/completeClient for these keys).
import { Secret } from '../secret.js'
import { keyFilePath } from './keys.js'
import type { ClientInput, ServerInput } from './schema.js'
import { SERVER_DEFAULTS, type BandwidthRules, type HttpProxyConfig, type HttpsProxyConfig, type ServerConfig, type SourceRules } from './types.js'

type ProxyInput = NonNullable<ClientInput['proxies']>[number]
type VhostServerKeys = Pick<ServerConfig, 'vhostHTTPPort' | 'vhostHTTPSPort' | 'vhostHTTPTimeout' | 'subDomainHost' | 'custom404Page'>

export function completeVhostServer (d: ServerInput, file: string): VhostServerKeys {
  return {
    vhostHTTPPort: d.vhostHTTPPort ?? 0,
    vhostHTTPSPort: d.vhostHTTPSPort ?? 0,
    vhostHTTPTimeout: d.vhostHTTPTimeout ?? SERVER_DEFAULTS.vhostHTTPTimeout,
    subDomainHost: d.subDomainHost ?? '',
    custom404Page: d.custom404Page === undefined ? null : keyFilePath(file, d.custom404Page),
  }
}

interface Common extends SourceRules, BandwidthRules {
  name: string
  localIP: string
  localPort: number
}

export function completeVhostProxy (p: ProxyInput & { type: 'http' | 'https' }, common: Common): HttpProxyConfig | HttpsProxyConfig {
  const domains = { customDomains: p.customDomains ?? [], subdomain: p.subdomain ?? '' }
  if (p.type === 'https') {
    return { ...common, ...domains, type: 'https', proxyProtocolVersion: p.transport?.proxyProtocolVersion ?? null }
  }
  return {
    ...common,
    ...domains,
    type: 'http',
    locations: p.locations ?? [],
    hostHeaderRewrite: p.hostHeaderRewrite ?? '',
    requestHeaders: p.requestHeaders?.set ?? {},
    responseHeaders: p.responseHeaders?.set ?? {},
    httpUser: p.httpUser ?? '',
    httpPassword: p.httpPassword === undefined || p.httpPassword === '' ? null : new Secret(Buffer.from(p.httpPassword, 'utf8')),
    routeByHTTPUser: p.routeByHTTPUser ?? '',
    proxyProtocolVersion: p.transport?.proxyProtocolVersion ?? null,
  }
}
