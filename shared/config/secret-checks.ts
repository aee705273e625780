// Cross-field checks of frpc.yml for secret proxies (stcp, sudp) and visitors: which keys belong
// to those types, a secretKey on each, visitor names and local ports that are unique, and the
// warnings a valid file can still deserve (a short secretKey, a visitor without a listener).
// Same contract as checks.ts: look only at values of the right type, report everything.
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { parseHost } from '../net/index.js'
import { locate, type ConfigPath } from './locate.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'
import { isVirtualNet } from './plugin-schema.js'

/** A secretKey shorter than this gets a warning: a proof lets whoever sees it guess offline. */
export const MIN_SECRET_KEY_CHARS = 16
const SECRET_TYPES: ReadonlySet<unknown> = new Set(['stcp', 'sudp', 'xtcp'])
/** frp's keys only xtcp visitors have. */
const XTCP_ONLY_VISITOR_KEYS = ['keepTunnelOpen', 'maxRetriesAnHour', 'minRetryInterval', 'fallbackTo', 'fallbackTimeoutMs', 'natTraversal'] as const
/** The other proxy types this version runs. */
const OTHER_TYPES: ReadonlySet<unknown> = new Set(['tcp', 'udp', 'http', 'https'])
/** The proxy keys a secret proxy uses (besides frp keys this version ignores). */
const SECRET_PROXY_KEYS: ReadonlySet<string> = new Set(['name', 'type', 'enabled', 'localIP', 'localPort', 'transport', 'allowSources', 'denySources', 'secretKey', 'allowUsers', 'maxVisitors', 'metadatas', 'annotations'])

/** A warning, as checks.ts's ConfigWarning (not imported from there: checks.ts imports this file). */
interface Warning {
  message: string
  location: ConfigLocation
}

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function issue (ctx: CheckContext, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: at(ctx, path, key) }
}

/** The entries of the list, without frp's virtual_net ones (not started: virtual-net.ts warns about them alone). */
function listOf (ctx: CheckContext, key: 'proxies' | 'visitors'): Array<[number, Record<string, unknown>]> {
  const list = valueAt(ctx.data, [key])
  if (!Array.isArray(list)) return []
  return list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) && !isVirtualNet(p) ? [[i, p]] : []))
}

const missing = (v: unknown): boolean => v === undefined || v === ''

/**
 * The users other than the owner's own that a secret proxy's allowUsers admits (`*` for any);
 * empty when only the owner's user may visit (an empty list: frp's default, ours too).
 */
function otherUsers (ctx: CheckContext, p: Record<string, unknown>): string[] {
  const owner = ctx.includedBy?.user ?? valueAt(ctx.data, ['user'])
  const ownUser = typeof owner === 'string' ? owner : ''
  const list = Array.isArray(p.allowUsers) ? p.allowUsers.filter((u): u is string => typeof u === 'string') : []
  return list.filter((u) => u !== ownUser)
}

/** How a visit to a proxy without secretKey is still held to its owner's own user (docs/security.md, "Secret proxies"). */
const OWN_USER_ONLY = 'only visitors logged in with this client\'s own user (the allowUsers default) get in, checked by the relay and again by this client'

function proxyIssues (ctx: CheckContext, i: number, p: Record<string, unknown>): ConfigIssue[] {
  const base: ConfigPath = ['proxies', i]
  const issues: ConfigIssue[] = []
  if (Object.hasOwn(p, 'natTraversal') && p.type !== 'xtcp' && (SECRET_TYPES.has(p.type) || OTHER_TYPES.has(p.type))) {
    issues.push(issue(ctx, [...base, 'natTraversal'], `natTraversal applies only to type xtcp proxies (frp's rule too); remove it from this ${String(p.type)} proxy`, true))
  }
  if (!SECRET_TYPES.has(p.type)) {
    // Types this version lacks (xtcp, tcpmux) get one issue, about their type, elsewhere.
    if (!OTHER_TYPES.has(p.type)) return issues
    for (const key of ['secretKey', 'allowUsers']) {
      if (Object.hasOwn(p, key)) issues.push(issue(ctx, [...base, key], `${key} applies only to type stcp, sudp and xtcp proxies; remove it`, true))
    }
    return issues
  }
  const type = String(p.type)
  // frp takes an empty secret. Without one a visit proves nothing but its user, so it is accepted
  // only while allowUsers keeps the proxy to its owner's own user (warned); open to other users it
  // would be open to every token holder who claims one of them.
  const others = otherUsers(ctx, p)
  if (missing(p.secretKey) && others.length > 0) {
    issues.push(issue(ctx, Object.hasOwn(p, 'secretKey') ? [...base, 'secretKey'] : [...base, 'type'], `an ${type} proxy that allowUsers opens to other users (${others.map((u) => JSON.stringify(u)).join(', ')}) needs a secretKey: without one any of them, or any token holder who logs in as one, could visit it. Set a secretKey (20 or more random characters; {{ .Envs.NAME }} keeps it out of the file), or drop allowUsers to keep it to this client's own user`))
  }
  for (const key of Object.keys(p)) {
    if (SECRET_PROXY_KEYS.has(key)) continue
    if (key === 'remotePort') {
      issues.push(issue(ctx, [...base, key], `an ${type} proxy has no public port: the relay opens none; a visitor listens on its own bindPort. Remove remotePort`, true))
    } else if (['idleTimeout', 'maxFlows'].includes(key)) {
      issues.push(issue(ctx, [...base, key], `${key} applies only to type udp proxies; remove it`, true))
    } else if (['customDomains', 'subdomain', 'locations', 'hostHeaderRewrite', 'requestHeaders', 'responseHeaders', 'httpUser', 'httpPassword'].includes(key)) {
      issues.push(issue(ctx, [...base, key], `${key} applies only to http/https proxies; remove it`, true))
    }
  }
  if (type === 'sudp' && Object.hasOwn(p, 'maxVisitors')) {
    issues.push(issue(ctx, [...base, 'maxVisitors'], 'maxVisitors applies only to type tcp and stcp proxies (an sudp visitor flow is one visit, bounded per visitor); remove it', true))
  }
  if (type === 'xtcp' && Object.hasOwn(p, 'maxVisitors')) {
    issues.push(issue(ctx, [...base, 'maxVisitors'], 'maxVisitors applies only to type tcp and stcp proxies (xtcp visitors connect directly: the relay carries only their introduction); remove it', true))
  }
  if (type === 'xtcp' && isRecord(p.transport) && Object.hasOwn(p.transport, 'proxyProtocolVersion')) {
    issues.push(issue(ctx, [...base, 'transport', 'proxyProtocolVersion'], 'an xtcp proxy sends no PROXY protocol header (its visitors come over a punched path, not through the relay); remove it', true))
  }
  if (type === 'sudp' && isRecord(p.transport) && p.transport.proxyProtocolVersion === 'v1') {
    issues.push(issue(ctx, [...base, 'transport', 'proxyProtocolVersion'], 'PROXY protocol v1 describes TCP connections only: use v2 on an sudp proxy (a header in front of every datagram), or remove it'))
  }
  return issues
}

function visitorIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const names = new Map<string, number>()
  const ports = new Map<string, number>()
  for (const [i, v] of listOf(ctx, 'visitors')) {
    const base: ConfigPath = ['visitors', i]
    if (typeof v.name === 'string' && v.name !== '') {
      const first = names.get(v.name)
      if (first === undefined) names.set(v.name, i)
      else issues.push(issue(ctx, [...base, 'name'], `visitor name ${v.name} is already used by visitors[${first}] (line ${at(ctx, ['visitors', first, 'name']).line}); names must be unique`))
    }
    if (!SECRET_TYPES.has(v.type)) continue
    if (v.type !== 'xtcp') {
      for (const key of XTCP_ONLY_VISITOR_KEYS) {
        if (Object.hasOwn(v, key)) issues.push(issue(ctx, [...base, key], `${key} applies only to type xtcp visitors; remove it`, true))
      }
    } else if (v.bindPort === -1) {
      issues.push(issue(ctx, [...base, 'bindPort'], 'an xtcp visitor needs a bindPort (1-65535): local applications connect there'))
    }
    if (v.type === 'xtcp' && typeof v.fallbackTo === 'string' && v.fallbackTo !== '') {
      const list = listOf(ctx, 'visitors')
      const target = list.find(([, o]) => o.name === v.fallbackTo)
      if (target === undefined) issues.push(issue(ctx, [...base, 'fallbackTo'], `fallbackTo names no visitor: add an stcp visitor named ${v.fallbackTo} (bindPort -1 is usual) that reaches the same service through the relay`))
      else if (target[1].type !== 'stcp') issues.push(issue(ctx, [...base, 'fallbackTo'], `fallbackTo must name an stcp visitor; ${v.fallbackTo} is of type ${String(target[1].type)}`))
    }
    if (v.bindPort === 0) issues.push(issue(ctx, [...base, 'bindPort'], 'bindPort is required: the port local applications connect to (1-65535)'))
    if (v.bindPort === -1 && v.type === 'sudp') issues.push(issue(ctx, [...base, 'bindPort'], 'an sudp visitor needs a bindPort (1-65535): it has no other way to receive datagrams'))
    if (typeof v.bindAddr === 'string' && v.bindAddr !== '') {
      const r = parseHost(v.bindAddr)
      if ('error' in r) issues.push(issue(ctx, [...base, 'bindAddr'], r.error))
    }
    if (v.enabled === false || !Number.isSafeInteger(v.bindPort) || (v.bindPort as number) <= 0) continue
    // stcp listens on TCP, sudp on UDP: the two may share a number.
    const slot = `${String(v.type)} ${typeof v.bindAddr === 'string' ? v.bindAddr : ''} ${String(v.bindPort)}`
    const first = ports.get(slot)
    if (first === undefined) ports.set(slot, i)
    else issues.push(issue(ctx, [...base, 'bindPort'], `bindPort ${String(v.bindPort)} is already used by visitors[${first}]; give each visitor its own port`))
  }
  return issues
}

/** Problems of secret proxies and visitors (frpc.yml only). */
export function secretIssues (ctx: CheckContext): ConfigIssue[] {
  if (ctx.side !== 'client') return []
  return [...listOf(ctx, 'proxies').flatMap(([i, p]) => proxyIssues(ctx, i, p)), ...visitorIssues(ctx)]
}

function shortSecret (ctx: CheckContext, path: ConfigPath, value: unknown): Warning[] {
  if (typeof value !== 'string' || value === '' || value.length >= MIN_SECRET_KEY_CHARS) return []
  return [{ message: `secretKey has ${value.length} characters: whoever sees a visit's proof (the relay's operator) can try to guess it offline; use ${MIN_SECRET_KEY_CHARS} or more random characters (20 or more is better)`, location: at(ctx, path) }]
}

/**
 * Secret proxies and visitors without secretKey (frp's empty secret), accepted while allowUsers
 * keeps the proxy to its owner's user: one warning each, included files' entries too.
 */
export function noSecretWarnings (ctx: CheckContext): Warning[] {
  if (ctx.side !== 'client') return []
  const out: Warning[] = []
  for (const [i, p] of listOf(ctx, 'proxies')) {
    if (!SECRET_TYPES.has(p.type) || !missing(p.secretKey) || p.enabled === false || otherUsers(ctx, p).length > 0) continue
    const path: ConfigPath = ['proxies', i, Object.hasOwn(p, 'secretKey') ? 'secretKey' : 'type']
    out.push({ message: `proxies[${i}] (${String(p.type)}) has no secretKey: a visit proves only its user; ${OWN_USER_ONLY}. Anyone who may log in with that user can visit (bind users to keys with the relay's auth.clientKeys, or set a secretKey of 20 or more random characters)`, location: at(ctx, path) })
  }
  for (const [i, v] of listOf(ctx, 'visitors')) {
    if (!SECRET_TYPES.has(v.type) || !missing(v.secretKey) || v.enabled === false) continue
    out.push({ message: `visitors[${i}] has no secretKey: it reaches only a proxy without one, of its own user (such a proxy admits no other user)`, location: at(ctx, ['visitors', i, Object.hasOwn(v, 'secretKey') ? 'secretKey' : 'type']) })
  }
  return out
}

/** Warnings for secret proxies and visitors of a valid frpc.yml. Never includes a secret's value. */
export function secretWarnings (ctx: CheckContext): Warning[] {
  if (ctx.side !== 'client') return []
  const out: Warning[] = []
  for (const [i, p] of listOf(ctx, 'proxies')) {
    if (SECRET_TYPES.has(p.type)) out.push(...shortSecret(ctx, ['proxies', i, 'secretKey'], p.secretKey))
  }
  for (const [i, v] of listOf(ctx, 'visitors')) {
    out.push(...shortSecret(ctx, ['visitors', i, 'secretKey'], v.secretKey))
    if (v.bindPort === -1 && v.type === 'stcp' && !listOf(ctx, 'visitors').some(([, o]) => o.type === 'xtcp' && o.fallbackTo === v.name)) {
      out.push({ message: 'bindPort -1: this visitor opens no listener, and no xtcp visitor names it in fallbackTo, so nothing reaches it', location: at(ctx, ['visitors', i, 'bindPort']) })
    }
  }
  return out
}
