// What the relay is told about a proxy (pure): its registered name (`{user}.{name}` when user is
// set, as frp does) and the register spec (frp's keys; http/https with their domains and
// settings; bandwidth limits only in server mode), in REGISTER messages that each stay well under
// the control frame limit however many proxies a file has. localIP, localPort and the PROXY
// header stay on the client: the relay never sees them; nor the secretKey of stcp/sudp proxies,
// of which it gets only the key that checks visitors' relay proofs (shared/visit/proof.ts).
import type { ProxyConfig } from '../../shared/config/index.js'
import { visitKeysFor } from '../../shared/visit/index.js'
import { MAX_CONTROL_BYTES, type ProxySpec } from '../../shared/wire/index.js'

/** Bytes of proxy specs per REGISTER message at most (the frame limit leaves room for the rest). */
export const REGISTER_BATCH_BYTES = MAX_CONTROL_BYTES / 2

/** frp registers `{user}.{name}` when user is set. */
export function wireName (user: string, proxy: ProxyConfig): string {
  return user === '' ? proxy.name : `${user}.${proxy.name}`
}

/**
 * `healthy`: the state of the proxy's health check now (sent only for a proxy with healthCheck;
 * the default false is what a diff compares).
 */
export function proxySpec (user: string, p: ProxyConfig, healthy = false): ProxySpec {
  const name = wireName(user, p)
  const sources = {
    ...(p.allowSources.length > 0 ? { allowSources: p.allowSources } : {}),
    ...(p.denySources.length > 0 ? { denySources: p.denySources } : {}),
    ...(p.metadatas === undefined ? {} : { metas: p.metadatas }),
  }
  const member = memberFields(p, healthy)
  // The relay applies the bandwidth limit only in server mode (frp's bandwidthLimitMode).
  const limits = p.bandwidthLimit > 0 && p.bandwidthLimitMode === 'server' ? { bandwidthLimit: p.bandwidthLimit } : {}
  switch (p.type) {
    case 'tcp': return { name, type: p.type, remotePort: p.remotePort, ...sources, ...limits, ...(p.maxVisitors > 0 ? { maxVisitors: p.maxVisitors } : {}), ...member }
    case 'udp': return { name, type: p.type, remotePort: p.remotePort, idleTimeout: p.idleTimeout, maxFlows: p.maxFlows, ...sources, ...limits }
    case 'stcp':
    case 'sudp':
    case 'xtcp': {
      const secret = { relayKey: visitKeysFor(p.secretKey.reveal(), name).relayKey.toString('base64'), allowUsers: p.allowUsers }
      if (p.type === 'sudp' || p.type === 'xtcp') return { name, type: p.type, ...secret, ...sources, ...limits }
      return { name, type: p.type, ...secret, ...sources, ...limits, ...(p.maxVisitors > 0 ? { maxVisitors: p.maxVisitors } : {}) }
    }
    case 'https': return { name, type: p.type, customDomains: p.customDomains, ...(p.subdomain === '' ? {} : { subdomain: p.subdomain }), ...sources }
    case 'http': return {
      name,
      type: p.type,
      customDomains: p.customDomains,
      ...(p.subdomain === '' ? {} : { subdomain: p.subdomain }),
      locations: p.locations,
      ...(p.hostHeaderRewrite === '' ? {} : { hostHeaderRewrite: p.hostHeaderRewrite }),
      ...(Object.keys(p.requestHeaders).length === 0 ? {} : { requestHeaders: p.requestHeaders }),
      ...(Object.keys(p.responseHeaders).length === 0 ? {} : { responseHeaders: p.responseHeaders }),
      ...(p.httpUser === '' ? {} : { httpUser: p.httpUser }),
      ...(p.httpPassword === null ? {} : { httpPassword: Buffer.from(p.httpPassword.reveal()).toString('utf8') }),
      ...(p.routeByHTTPUser === '' ? {} : { routeByHTTPUser: p.routeByHTTPUser }),
      ...(p.proxyProtocolVersion === null ? {} : { proxyProtocol: true }),
      ...sources,
      ...member,
    }
    case 'tcpmux': return {
      name,
      type: p.type,
      multiplexer: p.multiplexer,
      customDomains: p.customDomains,
      ...(p.subdomain === '' ? {} : { subdomain: p.subdomain }),
      ...(p.httpUser === '' ? {} : { httpUser: p.httpUser }),
      ...(p.httpPassword === null ? {} : { httpPassword: Buffer.from(p.httpPassword.reveal()).toString('utf8') }),
      ...(p.routeByHTTPUser === '' ? {} : { routeByHTTPUser: p.routeByHTTPUser }),
      ...sources,
      ...limits,
      ...member,
    }
  }
}

/** loadBalancer and the health check's state, for the types that take them. */
function memberFields (p: ProxyConfig, healthy: boolean): { group?: string, groupKey?: string, healthy?: boolean } {
  return {
    ...(p.loadBalancer === undefined ? {} : { group: p.loadBalancer.group, ...(p.loadBalancer.groupKey === '' ? {} : { groupKey: p.loadBalancer.groupKey }) }),
    ...(p.healthCheck === undefined ? {} : { healthy }),
  }
}

/** Specs in order, cut into lists of at most `maxBytes` of JSON each (one spec always fits alone). */
export function registerBatches (specs: readonly ProxySpec[], maxBytes = REGISTER_BATCH_BYTES): ProxySpec[][] {
  const batches: ProxySpec[][] = []
  let current: ProxySpec[] = []
  let bytes = 0
  for (const spec of specs) {
    const size = Buffer.byteLength(JSON.stringify(spec)) + 1
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(spec)
    bytes += size
  }
  if (current.length > 0) batches.push(current)
  return batches
}
