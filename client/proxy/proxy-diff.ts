// Old proxy list vs new one, by name (pure): which proxies a reload adds, removes, changes (any
// field differs) or leaves alone. A changed proxy either needs the relay to re-open it (its
// register spec differs: type, remotePort, sources, UDP limits) or only a new local side
// (localIP, localPort, PROXY header), which keeps its public port open.
import { isDeepStrictEqual } from 'node:util'
import type { ProxyConfig } from '../../shared/config/index.js'
import { Secret } from '../../shared/secret.js'
import { proxySpec } from './proxy-spec.js'

export interface ProxyChange {
  before: ProxyConfig
  after: ProxyConfig
  /** The relay must close and re-open the proxy; false: only the client side restarts. */
  relay: boolean
}

export interface ProxyDiff {
  /** In the new list's order. */
  added: ProxyConfig[]
  /** In the old list's order. */
  removed: ProxyConfig[]
  /** In the new list's order. */
  changed: ProxyChange[]
  /** In the new list's order. */
  unchanged: ProxyConfig[]
}

/** Names are unique within each list (the config loader refuses duplicates). */
export function diffProxies (before: readonly ProxyConfig[], after: readonly ProxyConfig[]): ProxyDiff {
  const old = new Map(before.map((p) => [p.name, p]))
  const next = new Set(after.map((p) => p.name))
  const diff: ProxyDiff = { added: [], removed: [], changed: [], unchanged: [] }
  for (const p of after) {
    const prev = old.get(p.name)
    if (prev === undefined) diff.added.push(p)
    else if (sameSettings(prev, p)) diff.unchanged.push(p)
    else diff.changed.push({ before: prev, after: p, relay: relayChanged(prev, p) })
  }
  for (const p of before) if (!next.has(p.name)) diff.removed.push(p)
  return diff
}

/**
 * Deep equality of config values that also compares what Secrets hold (a Secret keeps its bytes
 * in a private field, which isDeepStrictEqual does not see: two different secretKeys or
 * httpPasswords would compare equal).
 */
export function sameSettings (a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(revealed(a), revealed(b))
}

function revealed (v: unknown): unknown {
  if (v instanceof Secret) return { secret: Buffer.from(v.reveal()).toString('base64') }
  if (Array.isArray(v)) return v.map(revealed)
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealed(x)]))
  }
  return v
}

/** True when what the relay holds for the proxy differs (the user prefix is the same on both). */
export function relayChanged (before: ProxyConfig, after: ProxyConfig): boolean {
  return !isDeepStrictEqual(proxySpec('', before), proxySpec('', after))
}
