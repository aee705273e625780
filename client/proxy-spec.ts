// What the relay is told about a proxy (pure): its registered name (`{user}.{name}` when user is
// set, as frp does) and the register spec. localIP, localPort and the PROXY header stay on the
// client: the relay never sees them. Bandwidth limits go along only in server mode.
import type { ProxyConfig } from '../shared/config/types.js'
import type { ProxySpec } from '../shared/wire/messages.js'

/** frp registers `{user}.{name}` when user is set. */
export function wireName (user: string, proxy: ProxyConfig): string {
  return user === '' ? proxy.name : `${user}.${proxy.name}`
}

export function proxySpec (user: string, p: ProxyConfig): ProxySpec {
  const sources = {
    ...(p.allowSources.length > 0 ? { allowSources: p.allowSources } : {}),
    ...(p.denySources.length > 0 ? { denySources: p.denySources } : {}),
  }
  // The relay applies the bandwidth limit only in server mode (frp's bandwidthLimitMode).
  const limits = p.bandwidthLimit > 0 && p.bandwidthLimitMode === 'server' ? { bandwidthLimit: p.bandwidthLimit } : {}
  return p.type === 'udp'
    ? { name: wireName(user, p), type: p.type, remotePort: p.remotePort, idleTimeout: p.idleTimeout, maxFlows: p.maxFlows, ...sources, ...limits }
    : { name: wireName(user, p), type: p.type, remotePort: p.remotePort, ...sources, ...limits, ...(p.maxVisitors > 0 ? { maxVisitors: p.maxVisitors } : {}) }
}
