// Cross-field checks of frps.yml's `fleet:` block: advertiseAddr is a host:port, a client
// certificate comes with its key, TLS files only with https endpoints; a warning for plaintext
// etcd endpoints off loopback. Same contract as checks.ts: look only at values of the right type.
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { parseHostPort } from '../net/index.js'
import { locate, type ConfigPath } from './locate.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function issue (ctx: CheckContext, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: at(ctx, path, key) }
}

function endpointsOf (ctx: CheckContext): string[] {
  const list = valueAt(ctx.data, ['fleet', 'etcd', 'endpoints'])
  return Array.isArray(list) ? list.filter((e): e is string => typeof e === 'string') : []
}

export function fleetIssues (ctx: CheckContext): ConfigIssue[] {
  if (ctx.side !== 'server') return clientFleetIssues(ctx)
  const fleet = valueAt(ctx.data, ['fleet'])
  if (!isRecord(fleet)) return []
  const out: ConfigIssue[] = []
  const adv = fleet.advertiseAddr
  if (typeof adv === 'string') {
    const hp = parseHostPort(adv)
    if ('error' in hp || hp.port === 0) out.push(issue(ctx, ['fleet', 'advertiseAddr'], `advertiseAddr must be host:port (IPv6 in brackets), like 10.0.0.1:7000; got ${JSON.stringify(adv.slice(0, 80))}`))
  }
  const etcd = valueAt(ctx.data, ['fleet', 'etcd'])
  if (!isRecord(etcd)) return out
  const hasCert = typeof etcd.certFile === 'string'
  const hasKey = typeof etcd.keyFile === 'string'
  if (hasCert !== hasKey) out.push(issue(ctx, ['fleet', 'etcd', hasCert ? 'certFile' : 'keyFile'], 'fleet.etcd.certFile and fleet.etcd.keyFile go together: set both (client-certificate auth) or neither', true))
  const endpoints = endpointsOf(ctx)
  const tls = endpoints.filter((e) => e.startsWith('https://')).length
  if (tls > 0 && tls < endpoints.length) out.push(issue(ctx, ['fleet', 'etcd', 'endpoints'], 'fleet.etcd.endpoints mixes http:// and https://: one etcd cluster speaks one of them'))
  if (tls === 0 && endpoints.length > 0) {
    for (const key of ['caFile', 'certFile', 'keyFile']) {
      if (typeof etcd[key] === 'string') out.push(issue(ctx, ['fleet', 'etcd', key], `fleet.etcd.${key} needs https:// endpoints: with http:// nothing would use it`, true))
    }
  }
  return out
}

/** A warning, as checks.ts's ConfigWarning (not imported from there: checks.ts imports this file). */
interface ConfigWarning { message: string, location: ConfigLocation }

/** frpc.yml: every fleet.servers entry is host:port, each relay once. */
function clientFleetIssues (ctx: CheckContext): ConfigIssue[] {
  const list = valueAt(ctx.data, ['fleet', 'servers'])
  if (!Array.isArray(list)) return []
  const out: ConfigIssue[] = []
  const seen = new Set<string>()
  list.forEach((text, i) => {
    if (typeof text !== 'string') return
    const hp = parseHostPort(text)
    if ('error' in hp || hp.port === 0) {
      out.push(issue(ctx, ['fleet', 'servers', i], `fleet.servers entries are host:port (IPv6 in brackets), like relay1.example.com:7000; got ${JSON.stringify(text.slice(0, 80))}`))
      return
    }
    const key = `${hp.host.toLowerCase()}:${hp.port}`
    if (seen.has(key)) out.push(issue(ctx, ['fleet', 'servers', i], `${text} is listed twice in fleet.servers: each relay once`))
    seen.add(key)
  })
  return out
}

const LOOPBACK_URL = /^http:\/\/(?:127\.[0-9.]+|localhost|\[::1\]):/

export function fleetWarnings (ctx: CheckContext): ConfigWarning[] {
  if (ctx.side !== 'server') return []
  const out: ConfigWarning[] = []
  const plain = endpointsOf(ctx).filter((e) => e.startsWith('http://') && !LOOPBACK_URL.test(e))
  if (plain.length > 0) out.push({ message: `fleet.etcd.endpoints ${plain.join(', ')} are plain http off loopback: whoever is on that network can read and change who owns what; use https:// with caFile (and certFile/keyFile)`, location: at(ctx, ['fleet', 'etcd', 'endpoints']) })
  const keyed = ['privateKey', 'privateKeyFile'].some((k) => typeof valueAt(ctx.data, ['auth', k]) === 'string')
  if (isRecord(valueAt(ctx.data, ['fleet'])) && !keyed) {
    out.push({ message: 'a fleet relay without auth.privateKey (or privateKeyFile) opens no inter-relay links: an http request for a domain whose client is attached to another relay gets 404 here instead of being forwarded; run tunnel keygen', location: at(ctx, ['fleet'], true) })
  }
  return out
}
