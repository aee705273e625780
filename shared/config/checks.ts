// Checks that span several fields (unique proxy names and ports, start <= end, heartbeat
// timeout vs interval) and the warnings a valid file can still deserve. They run on the raw
// data next to the schema check and look only at values of the right type, so every problem
// in a file is reported in one pass.

import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { parseHost } from '../net/index.js'
import { CLIENT_DEFAULTS, SERVER_DEFAULTS } from './types.js'
import { FRP_KEYS } from './schema.js'
import { keyIssues } from './keys.js'
import { formatPath, locate, type ConfigPath } from './locate.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'
import { adminBindProblem } from './admin-bind.js'
import { groupIssues, groupWarnings } from './group-checks.js'
import { duplicateDomainWarnings, sharedPortWarnings, vhostIssues } from './vhost-checks.js'
import { fleetIssues, fleetWarnings } from './fleet-checks.js'
import { noSecretWarnings, secretIssues, secretWarnings } from './secret-checks.js'
import { tokenSourceIssues } from './token-source.js'
import { storeWarnings } from './store-file.js'
import { transportIssues, transportWarnings } from './transport-load.js'
import { pluginConfigIssues, pluginConfigWarnings } from './plugin-checks.js'
import { virtualNetWarnings } from './virtual-net.js'

export interface ConfigWarning {
  message: string
  location: ConfigLocation
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v)
/** A proxy name in a message: bare when plain, quoted when it has spaces, other scripts or controls (frp allows any). */
const nameShown = (name: string): string => (/^[A-Za-z0-9._-]+$/.test(name) ? name : JSON.stringify(name))
/** Our keys that mean something only on a udp proxy. */
const UDP_ONLY_KEYS = ['idleTimeout', 'maxFlows'] as const
/** Our keys that mean something only on a tcp proxy, with what to use on udp instead. */
const TCP_ONLY_KEYS = [['maxVisitors', 'udp proxies cap visitors with maxFlows']] as const

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function proxiesOf (data: unknown): Array<[number, Record<string, unknown>]> {
  const list = valueAt(data, ['proxies'])
  if (!Array.isArray(list)) return []
  return list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) ? [[i, p]] : []))
}

function proxyIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const names = new Map<string, number>()
  const ports = new Map<string, number>()
  for (const [i, p] of proxiesOf(ctx.data)) {
    if (typeof p.name === 'string' && p.name !== '') {
      const first = names.get(p.name)
      if (first === undefined) names.set(p.name, i)
      else {
        const line = at(ctx, ['proxies', first, 'name']).line
        issues.push({ code: 'TUN_CONFIG_INVALID', message: `proxy name ${nameShown(p.name)} is already used by proxies[${first}] (line ${line}); names must be unique`, location: at(ctx, ['proxies', i, 'name']) })
      }
    }
    for (const key of UDP_ONLY_KEYS) {
      if (Object.hasOwn(p, key) && typeof p.type === 'string' && ['tcp', 'http', 'https', 'tcpmux'].includes(p.type)) {
        issues.push({ code: 'TUN_CONFIG_INVALID', message: `${key} applies only to type udp proxies; remove it`, location: at(ctx, ['proxies', i, key], true) })
      }
    }
    for (const [key, instead] of TCP_ONLY_KEYS) {
      if (Object.hasOwn(p, key) && p.type === 'udp') {
        issues.push({ code: 'TUN_CONFIG_INVALID', message: `${key} applies only to type tcp proxies (${instead}); remove it`, location: at(ctx, ['proxies', i, key], true) })
      } else if (Object.hasOwn(p, key) && (p.type === 'http' || p.type === 'https' || p.type === 'tcpmux')) {
        issues.push({ code: 'TUN_CONFIG_INVALID', message: `${key} applies only to type tcp proxies (the relay's maxConnections bounds vhost visitors); remove it`, location: at(ctx, ['proxies', i, key], true) })
      }
    }
    if ((p.type === 'http' || p.type === 'https') && isRecord(p.transport) && p.transport.bandwidthLimitMode === 'server') {
      issues.push({ code: 'TUN_CONFIG_INVALID', message: `bandwidthLimitMode server is not offered on ${p.type} proxies: the relay does not meter vhost traffic; use client (the default)`, location: at(ctx, ['proxies', i, 'transport', 'bandwidthLimitMode']) })
    }
    if (p.type === 'udp' && isRecord(p.transport) && p.transport.proxyProtocolVersion === 'v1') {
      issues.push({ code: 'TUN_CONFIG_INVALID', message: 'PROXY protocol v1 describes TCP connections only: use v2 on a udp proxy (a header in front of every datagram), or remove it', location: at(ctx, ['proxies', i, 'transport', 'proxyProtocolVersion']) })
    }
    // Members of one load-balancing group share their port (group-checks.ts checks they agree).
    if (p.enabled === false || !isInt(p.remotePort) || p.remotePort <= 0 || isRecord(p.loadBalancer)) continue
    // TCP and UDP ports are separate: a tcp and a udp proxy may share a number (DNS does).
    const slot = `${String(p.type)}/${p.remotePort}`
    const first = ports.get(slot)
    if (first === undefined) ports.set(slot, i)
    else {
      issues.push({ code: 'TUN_CONFIG_INVALID', message: `remotePort ${p.remotePort} is already used by proxies[${first}]; give each proxy its own port or 0`, location: at(ctx, ['proxies', i, 'remotePort']) })
    }
  }
  return issues
}

function allowPortsIssues (ctx: CheckContext): ConfigIssue[] {
  const list = valueAt(ctx.data, ['allowPorts'])
  if (!Array.isArray(list)) return []
  return list.flatMap((r: unknown, i): ConfigIssue[] => {
    if (!isRecord(r) || !isInt(r.start) || !isInt(r.end) || r.start <= r.end) return []
    return [{ code: 'TUN_CONFIG_INVALID', message: `start ${r.start} is after end ${r.end}; swap them`, location: at(ctx, ['allowPorts', i]) }]
  })
}

function heartbeatIssues (ctx: CheckContext): ConfigIssue[] {
  const t = valueAt(ctx.data, ['transport'])
  const interval = isRecord(t) && Object.hasOwn(t, 'heartbeatInterval') ? t.heartbeatInterval : CLIENT_DEFAULTS.heartbeatInterval
  const timeout = isRecord(t) && Object.hasOwn(t, 'heartbeatTimeout') ? t.heartbeatTimeout : CLIENT_DEFAULTS.heartbeatTimeout
  if (!isInt(interval) || !isInt(timeout) || timeout <= 0 || timeout >= interval) return []
  const key = isRecord(t) && Object.hasOwn(t, 'heartbeatTimeout') ? 'heartbeatTimeout' : 'heartbeatInterval'
  return [{
    code: 'TUN_CONFIG_INVALID',
    message: `heartbeatTimeout ${timeout} is shorter than heartbeatInterval ${interval}; the connection would time out between pings (make the timeout several intervals, or <= 0 to disable)`,
    location: at(ctx, ['transport', key]),
  }]
}

/** Host keys: an IP (IPv6 bare or in brackets) or a DNS name, never with a port. */
function addressIssues (ctx: CheckContext): ConfigIssue[] {
  const paths: ConfigPath[] = ctx.side === 'server'
    ? [['bindAddr'], ['proxyBindAddr']]
    : [['serverAddr'], ...proxiesOf(ctx.data).map(([i]): ConfigPath => ['proxies', i, 'localIP'])]
  return paths.flatMap((path): ConfigIssue[] => {
    const v = valueAt(ctx.data, path)
    if (typeof v !== 'string' || v === '') return [] // the schema reports wrong types and empty strings
    const r = parseHost(v)
    return 'error' in r ? [{ code: 'TUN_CONFIG_INVALID', message: r.error, location: at(ctx, path) }] : []
  })
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** webServer: credentials on a non-loopback address; a user needs a password. */
function adminIssues (ctx: CheckContext): ConfigIssue[] {
  const w = valueAt(ctx.data, ['webServer'])
  if (!isRecord(w)) return []
  const issues: ConfigIssue[] = []
  if (str(w.user) !== '' && str(w.password) === '') {
    issues.push({ code: 'TUN_CONFIG_INVALID', message: 'webServer.user is set without webServer.password: set a password (or remove user)', location: at(ctx, ['webServer', 'user']) })
  }
  return issues
}

/** Problems that involve more than one field. */
export function crossFieldIssues (ctx: CheckContext): ConfigIssue[] {
  return ctx.side === 'server'
    ? [...allowPortsIssues(ctx), ...addressIssues(ctx), ...keyIssues(ctx), ...adminIssues(ctx), ...vhostIssues(ctx), ...transportIssues(ctx), ...tokenSourceIssues(ctx), ...groupIssues(ctx), ...fleetIssues(ctx)]
    : [...proxyIssues(ctx), ...heartbeatIssues(ctx), ...addressIssues(ctx), ...keyIssues(ctx), ...adminIssues(ctx), ...vhostIssues(ctx), ...secretIssues(ctx), ...pluginConfigIssues(ctx), ...transportIssues(ctx), ...tokenSourceIssues(ctx), ...groupIssues(ctx), ...fleetIssues(ctx)]
}

function adminWarnings (ctx: CheckContext): ConfigWarning[] {
  return [...openAdminWarnings(ctx), ...otherAdminWarnings(ctx)]
}

/** An admin API on a non-loopback address without credentials: it starts, serving /metrics only. */
function openAdminWarnings (ctx: CheckContext): ConfigWarning[] {
  const w = valueAt(ctx.data, ['webServer'])
  if (!isRecord(w) || !Number.isInteger(w.port) || typeof w.addr !== 'string') return []
  const problem = adminBindProblem({ addr: w.addr, password: str(w.password), token: str(w.token) })
  return problem === undefined ? [] : [{ message: problem, location: at(ctx, ['webServer', 'addr']) }]
}

function otherAdminWarnings (ctx: CheckContext): ConfigWarning[] {
  const w = valueAt(ctx.data, ['webServer'])
  const hasPort = isRecord(w) && Number.isInteger(w.port)
  const out: ConfigWarning[] = []
  if (isRecord(w) && !hasPort && Object.keys(w).length > 0) {
    out.push({ message: 'webServer has no port: the admin API stays off (set webServer.port)', location: at(ctx, ['webServer'], true) })
  }
  if (ctx.side === 'server' && valueAt(ctx.data, ['enablePrometheus']) === true && !hasPort) {
    out.push({ message: 'enablePrometheus needs the admin API: set webServer.port to serve /metrics', location: at(ctx, ['enablePrometheus'], true) })
  }
  return out
}

/** The relay's per-client caps and their per-user twins (footprint caps, our keys). */
const CAP_PAIRS = [
  ['maxProxiesPerClient', 'maxProxiesPerUser'],
  ['maxVhostProxiesPerClient', 'maxVhostProxiesPerUser'],
  ['maxDomainsPerClient', 'maxDomainsPerUser'],
  ['maxLocationsPerClient', 'maxLocationsPerUser'],
] as const

/** A per-client cap turned off, or a per-user cap below its per-client twin (which then never binds). */
function capWarnings (ctx: CheckContext): ConfigWarning[] {
  if (ctx.side !== 'server') return []
  const out: ConfigWarning[] = []
  const value = (key: keyof typeof SERVER_DEFAULTS): { v: number, set: boolean } => {
    const v = valueAt(ctx.data, [key])
    return isInt(v) ? { v, set: true } : { v: Number(SERVER_DEFAULTS[key]), set: false }
  }
  for (const [perClient, perUser] of CAP_PAIRS) {
    const c = value(perClient)
    const u = value(perUser)
    if (c.set && c.v === 0) {
      out.push({ message: `${perClient} is 0: one client may make the relay hold any number of them (memory and CPU for every token holder to spend)`, location: at(ctx, [perClient]) })
    }
    if (c.v > 0 && u.v > 0 && u.v < c.v && (c.set || u.set)) {
      out.push({ message: `${perUser} ${u.v} is below ${perClient} ${c.v}: a user's single client is held to ${u.v}`, location: at(ctx, [u.set ? perUser : perClient]) })
    }
  }
  return out
}

/** Every present key of an `ignore` row, as concrete paths (`proxies[]` expanded). */
function ignoredPresent (ctx: CheckContext): Array<{ path: ConfigPath, why: string }> {
  const out: Array<{ path: ConfigPath, why: string }> = []
  for (const row of FRP_KEYS) {
    if (row.action !== 'ignore' || !row.sides.includes(ctx.side)) continue
    const segs = row.path.split('.')
    const list = segs[0] === 'proxies[]' ? 'proxies' : segs[0] === 'visitors[]' ? 'visitors' : undefined
    const entries = list === undefined ? [] : valueAt(ctx.data, [list])
    const bases: ConfigPath[] = list === undefined ? [[]] : Array.isArray(entries) ? entries.map((_, i): ConfigPath => [list, i]) : []
    const rest = list === undefined ? segs : segs.slice(1)
    for (const base of bases) {
      const path = [...base, ...rest]
      const parent = valueAt(ctx.data, path.slice(0, -1))
      if (isRecord(parent) && Object.hasOwn(parent, String(path.at(-1)))) out.push({ path, why: row.why })
    }
  }
  return out
}

function heartbeatWarnings (ctx: CheckContext): ConfigWarning[] {
  const keys = ctx.side === 'server' ? ['heartbeatTimeout'] : ['heartbeatInterval', 'heartbeatTimeout']
  return keys.flatMap((key) => {
    const v = valueAt(ctx.data, ['transport', key])
    if (!isInt(v) || v > 0) return []
    const what = key === 'heartbeatInterval' ? 'no pings are sent' : 'a silent peer is never timed out'
    return [{ message: `transport.${key} is ${v}: ${what}, so a dead connection is noticed only when TCP gives up`, location: at(ctx, ['transport', key]) }]
  })
}

export interface WarningOptions {
  /** An included file (includes.ts): only its proxies and visitors count, so only their warnings. */
  included?: boolean
  /** Included files add proxies: no "no proxies" warning for this file alone. */
  moreProxies?: boolean
}

/** Warnings for a file that is otherwise valid. Never includes a secret's value. */
export function configWarnings (ctx: CheckContext, options: WarningOptions = {}): ConfigWarning[] {
  const warnings: ConfigWarning[] = ignoredPresent(ctx).map(({ path, why }) => ({
    message: `${formatPath(path)} is an frp setting this tunnel ignores: ${why}`,
    location: at(ctx, path, true),
  }))
  // Group warnings name their proxies (proxies[i]...), so an included file keeps them too.
  warnings.push(...groupWarnings(ctx), ...virtualNetWarnings(ctx), ...noSecretWarnings(ctx))
  if (options.included === true) return warnings.filter((w) => w.location.path.startsWith('proxies[') || w.location.path.startsWith('visitors['))
  warnings.push(...heartbeatWarnings(ctx), ...adminWarnings(ctx), ...storeWarnings(ctx), ...capWarnings(ctx), ...transportWarnings(ctx), ...duplicateDomainWarnings(ctx), ...sharedPortWarnings(ctx))
  if (valueAt(ctx.data, ['transport', 'insecurePlaintext']) === true) {
    warnings.push({ message: 'transport.insecurePlaintext is true: after the handshake, tunnelled bytes cross the network unencrypted and unauthenticated; use it only for benchmarks or a link you trust', location: at(ctx, ['transport', 'insecurePlaintext']) })
  }
  const token = valueAt(ctx.data, ['auth', 'token'])
  if ((token === undefined || token === '') && valueAt(ctx.data, ['auth', 'tokenSource']) === undefined) {
    const relay = ctx.side === 'server' ? 'this relay' : 'the relay'
    warnings.push({ message: `auth.token is empty: anyone who can reach ${relay} can connect; set the same token on both sides`, location: at(ctx, ['auth', 'token']) })
  }
  const visitors = valueAt(ctx.data, ['visitors'])
  const hasVisitors = Array.isArray(visitors) && visitors.some((v) => isRecord(v) && v.enabled !== false)
  if (ctx.side === 'client' && options.moreProxies !== true && !hasVisitors && !proxiesOf(ctx.data).some(([, p]) => p.enabled !== false)) {
    warnings.push({ message: 'no proxies: the client will connect but expose nothing (add entries under proxies:)', location: at(ctx, ['proxies']) })
  }
  warnings.push(...secretWarnings(ctx), ...pluginConfigWarnings(ctx), ...fleetWarnings(ctx))
  return warnings
}

/** `frpc.yml:3:1 warning: transport.tcpMux is an frp setting this tunnel ignores: …` */
export function formatConfigWarning (w: ConfigWarning): string {
  const { file, line, col } = w.location
  return `${line > 0 ? `${file}:${line}:${col}` : file} warning: ${w.message}`
}
