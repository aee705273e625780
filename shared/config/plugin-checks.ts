// Checks of frp's client plugins that one key cannot make alone (same contract as checks.ts: look
// only at values of the right type, report every problem): a plugin on a udp proxy, a proxy with
// neither localPort nor plugin, header names, stripPrefix, crtPath/keyPath (read and tried at
// load, so `tunnel verify` catches a bad certificate at its line), and the warnings a valid
// plugin can still deserve (an open proxy, keys it does not use). Secrets never appear.
import { readFileSync, statSync } from 'node:fs'
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { isHeaderName } from '../http/index.js'
import { nodeTls } from '../lazy-builtins.js'
import { keyFilePath } from './keys.js'
import { locate, type ConfigPath } from './locate.js'
import { PLUGIN_TYPES } from './plugin-schema.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'
import { fileReadProblem, missingFileIssue, type FileProblem } from './missing-files.js'

/** Largest certificate or key file read (a long chain is a few KiB). */
export const MAX_PEM_FILE_BYTES = 1024 * 1024
/** Plugins that speak to visitors as proxies into the client's network. */
const OPEN_PROXY_PLUGINS: ReadonlySet<unknown> = new Set(['http_proxy', 'socks5'])
/** Plugins that write the PROXY header (transport.proxyProtocolVersion) to the connection they make, as frp's do. */
const PROXY_HEADER_PLUGINS: ReadonlySet<unknown> = new Set(['unix_domain_socket', 'tls2raw'])
/** Plugins whose bytes pass the client's bandwidth limiter (the others serve HTTP or TLS themselves). */
const PACED_PLUGINS: ReadonlySet<unknown> = new Set(['unix_domain_socket', 'socks5', 'http_proxy'])
const TLS_PLUGINS: ReadonlySet<unknown> = new Set(['https2http', 'https2https', 'tls2raw'])
const KNOWN: ReadonlySet<unknown> = new Set(PLUGIN_TYPES)

function at (ctx: CheckContext, path: ConfigPath, key = false): ConfigLocation {
  return locate(ctx.doc, ctx.map, path, { key })
}

function issue (ctx: CheckContext, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: at(ctx, path, key) }
}

function proxiesOf (data: unknown): Array<[number, Record<string, unknown>]> {
  const list = valueAt(data, ['proxies'])
  if (!Array.isArray(list)) return []
  return list.flatMap((p, i): Array<[number, Record<string, unknown>]> => (isRecord(p) ? [[i, p]] : []))
}

/** A PEM file's bytes, or why it cannot be used. */
export function readPemFile (path: string): { bytes: Buffer } | FileProblem {
  try {
    const st = statSync(path)
    if (!st.isFile()) return { problem: `${path} is not a regular file`, missing: false }
    if (st.size > MAX_PEM_FILE_BYTES) return { problem: `${path} is ${st.size} bytes, more than ${MAX_PEM_FILE_BYTES} for a certificate or key`, missing: false }
    return { bytes: readFileSync(path) }
  } catch (err) {
    return fileReadProblem(path, err)
  }
}

/** crtPath and keyPath: both or neither; readable; a certificate and the key that goes with it. */
function certificateIssues (ctx: CheckContext, base: ConfigPath, plugin: Record<string, unknown>): ConfigIssue[] {
  const crt = plugin.crtPath
  const key = plugin.keyPath
  if (typeof crt !== 'string' && typeof key !== 'string') return []
  if (typeof crt !== 'string' || typeof key !== 'string') {
    const given = typeof crt === 'string' ? 'crtPath' : 'keyPath'
    return [issue(ctx, [...base, given], 'set crtPath and keyPath together (or neither, for a self-signed certificate made at start)', true)]
  }
  if (crt === '' || key === '') return [] // the schema says "must not be empty"
  const cert = readPemFile(keyFilePath(ctx.map.file, crt))
  const priv = readPemFile(keyFilePath(ctx.map.file, key))
  const issues: ConfigIssue[] = []
  if ('problem' in cert) issues.push(missingFileIssue(issue(ctx, [...base, 'crtPath'], cert.problem), cert.missing))
  if ('problem' in priv) issues.push(missingFileIssue(issue(ctx, [...base, 'keyPath'], priv.problem), priv.missing))
  if ('problem' in cert || 'problem' in priv) return issues
  try {
    nodeTls().createSecureContext({ cert: cert.bytes, key: priv.bytes })
  } catch (err) {
    // OpenSSL's reason (no PEM found, key does not match the certificate); never the key's bytes.
    const why = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)
    issues.push(issue(ctx, [...base, 'crtPath'], `${crt} and ${key} are not a usable certificate and private key: ${why}`))
  }
  return issues
}

function pluginIssues (ctx: CheckContext, i: number, p: Record<string, unknown>, plugin: Record<string, unknown>): ConfigIssue[] {
  const base: ConfigPath = ['proxies', i, 'plugin']
  if (p.type === 'udp' || p.type === 'sudp') {
    return [issue(ctx, base, `plugins take TCP connections: a ${String(p.type)} proxy cannot have one; remove plugin, or use type ${p.type === 'udp' ? 'tcp' : 'stcp'}`, true)]
  }
  if (p.type === 'xtcp') {
    return [issue(ctx, base, 'plugins do not serve xtcp proxies (their visitors come over a direct path); put the plugin on an stcp proxy, or remove it', true)]
  }
  if (!KNOWN.has(plugin.type)) return [] // the schema names the type
  const issues: ConfigIssue[] = []
  const set = valueAt(plugin, ['requestHeaders', 'set'])
  if (isRecord(set)) {
    for (const name of Object.keys(set)) {
      if (!isHeaderName(name)) issues.push(issue(ctx, [...base, 'requestHeaders', 'set', name], `${JSON.stringify(name.slice(0, 80))} is not a header name (letters, digits and !#$%&'*+-.^_\`|~, at most 64)`, true))
    }
  }
  const strip = plugin.stripPrefix
  if (typeof strip === 'string' && (/[?#\s\\]/.test(strip) || strip.split('/').some((seg) => seg === '..' || seg === '.'))) {
    issues.push(issue(ctx, [...base, 'stripPrefix'], 'must be a path prefix like static or files/public (no ., .., ?, #, backslashes or spaces)'))
  }
  const localPath = plugin.localPath
  if (typeof localPath === 'string' && localPath !== '') {
    try {
      if (!statSync(keyFilePath(ctx.map.file, localPath)).isDirectory()) issues.push(issue(ctx, [...base, 'localPath'], `${localPath} is not a folder; static_file serves a folder`))
    } catch { /* missing: a warning (it may appear later; until then visitors get 404) */ }
  }
  if (TLS_PLUGINS.has(plugin.type)) issues.push(...certificateIssues(ctx, base, plugin))
  return issues
}

/** Problems of plugins, and the localPort a proxy without a plugin needs. */
export function pluginConfigIssues (ctx: CheckContext): ConfigIssue[] {
  if (ctx.side !== 'client') return []
  const issues: ConfigIssue[] = []
  for (const [i, p] of proxiesOf(ctx.data)) {
    const plugin = p.plugin
    if (isRecord(plugin)) issues.push(...pluginIssues(ctx, i, p, plugin))
    else if (plugin === undefined && !Object.hasOwn(p, 'localPort') && ['tcp', 'udp', 'http', 'https', 'stcp', 'sudp', 'xtcp'].includes(String(p.type))) {
      issues.push(issue(ctx, ['proxies', i, 'localPort'], 'is missing: add the port of the local service (or a plugin, which takes the connections instead)'))
    }
  }
  return issues
}

function pluginWarnings (ctx: CheckContext, i: number, p: Record<string, unknown>, plugin: Record<string, unknown>): Array<{ message: string, location: ConfigLocation }> {
  const base: ConfigPath = ['proxies', i]
  const type = String(plugin.type)
  const out: Array<{ message: string, location: ConfigLocation }> = []
  const warn = (path: ConfigPath, message: string, key = true): void => { out.push({ message, location: at(ctx, path, key) }) }
  for (const key of ['localIP', 'localPort']) {
    if (Object.hasOwn(p, key)) warn([...base, key], `${key} is not used: the ${type} plugin takes the connections`)
  }
  if (OPEN_PROXY_PLUGINS.has(type)) {
    const [user, password] = type === 'socks5' ? [plugin.username, plugin.password] : [plugin.httpUser, plugin.httpPassword]
    const open = (typeof user !== 'string' || user === '') && (typeof password !== 'string' || password === '')
    const filtered = Array.isArray(p.allowSources) && p.allowSources.length > 0
    if (open && !filtered) {
      const keys = type === 'socks5' ? 'username and password' : 'httpUser and httpPassword'
      warn([...base, 'plugin'], `the ${type} plugin has no credentials: anyone who reaches the public port can use it to reach every address this client can (your home network); set ${keys}, or allowSources`)
    }
  }
  const transport = p.transport
  if (isRecord(transport) && Object.hasOwn(transport, 'proxyProtocolVersion') && !PROXY_HEADER_PLUGINS.has(type)) {
    warn([...base, 'transport', 'proxyProtocolVersion'], `the ${type} plugin sends no PROXY header (only unix_domain_socket and tls2raw do, as in frp)`)
  }
  if (isRecord(transport) && typeof transport.bandwidthLimit === 'string' && transport.bandwidthLimitMode !== 'server' && !PACED_PLUGINS.has(type)) {
    warn([...base, 'transport', 'bandwidthLimit'], `the client does not pace the ${type} plugin's traffic (it serves HTTP or TLS itself); on a tcp proxy use bandwidthLimitMode: server`)
  }
  if (TLS_PLUGINS.has(type) && plugin.crtPath === undefined && plugin.keyPath === undefined) {
    warn([...base, 'plugin'], `the ${type} plugin has no crtPath/keyPath: it makes a self-signed certificate at start, which visitors' browsers do not trust`)
  }
  const localPath = plugin.localPath
  if (type === 'static_file' && typeof localPath === 'string' && localPath !== '') {
    try {
      statSync(keyFilePath(ctx.map.file, localPath))
    } catch {
      warn([...base, 'plugin', 'localPath'], `${localPath} does not exist (yet): visitors get 404 until it does`, false)
    }
  }
  return out
}

/** Warnings for plugins of a file that is otherwise valid. */
export function pluginConfigWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  if (ctx.side !== 'client') return []
  return proxiesOf(ctx.data).flatMap(([i, p]) => (isRecord(p.plugin) && p.enabled !== false && KNOWN.has(p.plugin.type) ? pluginWarnings(ctx, i, p, p.plugin) : []))
}
