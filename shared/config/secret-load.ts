// Defaults for stcp/sudp proxies and for visitors of frpc.yml (the counterpart of load.ts's
// completeClient for these keys). The schema and secret-checks.ts have checked them already.
import { Secret } from '../secret.js'
import { unbracket } from '../net/index.js'
import type { ClientInput } from './schema.js'
import { CLIENT_DEFAULTS, type BandwidthRules, type SourceRules, type StcpProxyConfig, type SudpProxyConfig, type VisitorConfig, type XtcpProxyConfig } from './types.js'

type ProxyInput = NonNullable<ClientInput['proxies']>[number]
type VisitorInput = NonNullable<ClientInput['visitors']>[number]

interface Common extends SourceRules, BandwidthRules {
  name: string
  localIP: string
  localPort: number
}

const secret = (text: string | undefined): Secret => new Secret(Buffer.from(text ?? '', 'utf8'))

export function completeSecretProxy (p: ProxyInput & { type: 'stcp' | 'sudp' | 'xtcp' }, common: Common): StcpProxyConfig | SudpProxyConfig | XtcpProxyConfig {
  const rules = { secretKey: secret(p.secretKey), allowUsers: p.allowUsers ?? [] }
  if (p.type === 'xtcp') return { ...common, ...rules, type: 'xtcp', proxyProtocolVersion: null, disableAssistedAddrs: p.natTraversal?.disableAssistedAddrs ?? false }
  if (p.type === 'sudp') return { ...common, ...rules, type: 'sudp', proxyProtocolVersion: p.transport?.proxyProtocolVersion === 'v2' ? 'v2' : null }
  return { ...common, ...rules, type: 'stcp', proxyProtocolVersion: p.transport?.proxyProtocolVersion ?? null, maxVisitors: p.maxVisitors ?? 0 }
}

/** The enabled visitors, with frp's defaults. */
export function completeVisitors (list: readonly VisitorInput[]): VisitorConfig[] {
  return list.filter((v) => v.enabled !== false).map((v): VisitorConfig => ({
    name: v.name,
    type: v.type,
    serverName: v.serverName,
    serverUser: v.serverUser ?? '',
    secretKey: secret(v.secretKey),
    bindAddr: unbracket(v.bindAddr ?? CLIENT_DEFAULTS.visitorBindAddr),
    bindPort: v.bindPort,
    keepTunnelOpen: v.keepTunnelOpen ?? false,
    maxRetriesAnHour: v.maxRetriesAnHour ?? CLIENT_DEFAULTS.xtcpMaxRetriesAnHour,
    minRetryInterval: v.minRetryInterval ?? CLIENT_DEFAULTS.xtcpMinRetryInterval,
    fallbackTo: v.fallbackTo ?? '',
    fallbackTimeoutMs: v.fallbackTimeoutMs ?? CLIENT_DEFAULTS.xtcpFallbackTimeoutMs,
    disableAssistedAddrs: v.natTraversal?.disableAssistedAddrs ?? false,
  }))
}
