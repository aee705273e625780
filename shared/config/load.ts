// Reading frps.yml / frpc.yml: env templating → YAML (positions kept) → zod + cross-field
// checks → frp-style defaults (`Complete()`). Throws ConfigError with every issue found.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { parse as parseTomlText, TomlDate, TomlError } from 'smol-toml'
import { Document, isAlias, isCollection, isScalar, parseDocument, visit } from 'yaml'
import type { z } from 'zod'
import { ConfigError, type ConfigIssue, type ConfigLocation } from '../errors.js'
import { parseBandwidth } from '../limit/index.js'
import { unbracket } from '../net/index.js'
import type { Env } from './env.js'
import { renderTemplate } from './template.js'
import { SourceMap } from './locate.js'
import { tomlDuplicates, tomlPathOffsets } from './toml-paths.js'
import { convertLegacyIni, isLegacyIni, legacyLabel, type LegacySource } from './legacy-ini.js'
import { foldKeyCase } from './key-case.js'
import { crossFileIssues, INCLUDED_KEYS, readIncludes, unreadKeys } from './includes.js'
import { SECRET_KEYS, clientSchema, serverSchema, type ClientInput, type ServerInput, type Side } from './schema.js'
import { isRecord, mapZodIssues, unsupportedProxies, valueAt, type CheckContext } from './validate.js'
import { configWarnings, crossFieldIssues, type ConfigWarning } from './checks.js'
import { keyFilePath, loadClientKey, loadClientKeyRules, loadPrivateKey, loadServerKey } from './keys.js'
import { CLIENT_DEFAULTS, SERVER_DEFAULTS, type AdminConfig, type ClientConfig, type PortRange, type ProxyConfig, type ServerConfig } from './types.js'
import { completeVhostProxy, completeVhostServer } from './vhost-load.js'
import { completeGroupServer, completeTcpmuxProxy, withGroupKeys } from './group-load.js'
import { completeSecretProxy, completeVisitors } from './secret-load.js'
import { completeClientTransport, completeServerTransport } from './transport-load.js'
import { completePlugin } from './plugin-load.js'
import { completeClientFleet, completeFleet } from './fleet-load.js'
import { tokenFromSource } from './token-source.js'
import { readStoreFile, storeFilePath } from './store-file.js'
import { splitMissingFiles, type LoadOptions, type MissingFiles } from './missing-files.js'

export interface Loaded<T> {
  config: T
  warnings: ConfigWarning[]
  /** The files `includes` added (frpc only), in the order their proxies were appended. */
  included?: string[]
}

export type ConfigKind = 'server' | 'client'

const YAML_MESSAGES: Record<string, string> = {
  DUPLICATE_KEY: 'this key appears twice in the same mapping; keep one',
  MULTIPLE_DOCS: 'the file holds more than one YAML document; keep one (remove the extra ---)',
  BAD_INDENT: 'the indentation is wrong here; align keys of one mapping in one column',
  TAB_AS_INDENT: 'tabs cannot indent YAML; use spaces',
}

/** Drops top-level `.keys` (frp: anchor holders) and `key: null` entries (frp treats them as unset). */
function clean (value: unknown, top: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => clean(v, false))
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return value
  return Object.fromEntries(Object.entries(value)
    .filter(([k, v]) => v !== null && !(top && k.startsWith('.')))
    .map(([k, v]) => [k, clean(v, false)]))
}

/** Keys must be plain scalars; collection or alias keys become issues and are removed. */
function complexKeys (doc: Document, map: SourceMap): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  visit(doc, {
    Pair (_, pair) {
      const k = pair.key
      if (k === null || (isScalar(k) && (typeof k.value !== 'object' || k.value === null))) return undefined
      const offset = isScalar(k) || isCollection(k) || isAlias(k) ? k.range?.[0] ?? 0 : 0
      issues.push({ code: 'TUN_CONFIG_INVALID', message: 'a key must be a plain name, not a list, mapping, alias or tagged value', location: map.at(offset, '') })
      return visit.REMOVE
    },
  })
  return issues
}

// ------------------------------------------------------------------ secrets out of messages

// `token: x` (YAML) and `token = "x"` / `auth.token = "x"` (TOML).
const SECRET_LINE = new RegExp(`(?:^|[\\s{,.])["']?(?:${[...SECRET_KEYS].join('|')})["']?\\s*[:=]([^\\n]*)`, 'g')

/** Redaction of secret values in messages, from the raw text (for syntax errors) and parsed data. */
class Redactor {
  readonly #secrets = new Set<string>()
  readonly #lines: Array<[number, number]> = []

  constructor (text: string) {
    for (const m of text.matchAll(SECRET_LINE)) {
      const start = m.index
      this.#lines.push([start, start + m[0].length])
      const raw = (m[1] ?? '').trim()
      for (const piece of [raw, ...raw.split(/[\s,{}[\]"'#|>]+/)]) this.add(piece)
    }
  }

  add (secret: string): void {
    if (secret.length >= 3) this.#secrets.add(secret)
  }

  /** Every string under a secret key, wherever it is in the data. */
  addFrom (data: unknown, underSecret = false): void {
    if (typeof data === 'string' && underSecret) this.add(data)
    else if (Array.isArray(data)) data.forEach((v) => this.addFrom(v, underSecret))
    else if (isRecord(data)) for (const [k, v] of Object.entries(data)) this.addFrom(v, underSecret || SECRET_KEYS.has(k))
  }

  onSecretLine (offset: number): boolean {
    return this.#lines.some(([a, b]) => offset >= a && offset <= b)
  }

  readonly text = (message: string): string => {
    let out = message
    for (const s of [...this.#secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(s, '***')
    return out
  }
}

// ------------------------------------------------------------------ defaults (frp's Complete)

/** `{user or client}-{12 hex}`: stable for one config file on one host, different across files. */
export function defaultClientID (user: string, file: string): string {
  const hash = createHash('sha256').update(hostname() + '\0' + resolve(file)).digest('hex').slice(0, 12)
  return `${user === '' ? 'client' : user}-${hash}`
}

function completeServer (d: ServerInput, file: string, missingFiles: MissingFiles): ServerConfig {
  const bindAddr = unbracket(d.bindAddr ?? SERVER_DEFAULTS.bindAddr)
  const allowPorts = (d.allowPorts ?? []).map((r): PortRange => ('single' in r ? { start: r.single, end: r.single } : { start: r.start, end: r.end }))
  return {
    source: file,
    bindAddr,
    bindPort: d.bindPort ?? SERVER_DEFAULTS.bindPort,
    proxyBindAddr: d.proxyBindAddr === undefined ? bindAddr : unbracket(d.proxyBindAddr),
    auth: { method: 'token', token: d.auth?.token ?? tokenFromSource(file, d.auth?.tokenSource, missingFiles) ?? '', privateKey: loadPrivateKey(d.auth, file), clientKeys: loadClientKeyRules(d.auth?.clientKeys) },
    allowPorts,
    maxPortsPerClient: d.maxPortsPerClient ?? 0,
    ownershipGrace: d.ownershipGrace ?? SERVER_DEFAULTS.ownershipGrace,
    maxProxiesPerClient: d.maxProxiesPerClient ?? SERVER_DEFAULTS.maxProxiesPerClient,
    maxVhostProxiesPerClient: d.maxVhostProxiesPerClient ?? SERVER_DEFAULTS.maxVhostProxiesPerClient,
    maxDomainsPerClient: d.maxDomainsPerClient ?? SERVER_DEFAULTS.maxDomainsPerClient,
    maxLocationsPerClient: d.maxLocationsPerClient ?? SERVER_DEFAULTS.maxLocationsPerClient,
    maxProxiesPerUser: d.maxProxiesPerUser ?? SERVER_DEFAULTS.maxProxiesPerUser,
    maxVhostProxiesPerUser: d.maxVhostProxiesPerUser ?? SERVER_DEFAULTS.maxVhostProxiesPerUser,
    maxDomainsPerUser: d.maxDomainsPerUser ?? SERVER_DEFAULTS.maxDomainsPerUser,
    maxLocationsPerUser: d.maxLocationsPerUser ?? SERVER_DEFAULTS.maxLocationsPerUser,
    maxConnections: d.maxConnections ?? 0,
    maxConnectionsPerSource: d.maxConnectionsPerSource ?? SERVER_DEFAULTS.maxConnectionsPerSource,
    maxVisitorsPerSource: d.maxVisitorsPerSource ?? SERVER_DEFAULTS.maxVisitorsPerSource,
    maxFlowsPerSource: d.maxFlowsPerSource ?? SERVER_DEFAULTS.maxFlowsPerSource,
    maxBufferedBytesPerClient: d.maxBufferedBytesPerClient ?? SERVER_DEFAULTS.maxBufferedBytesPerClient,
    ...completeVhostServer(d, file),
    stunBindPort: d.stunBindPort ?? null,
    stunAltPort: d.stunAltPort ?? 0,
    transport: {
      heartbeatTimeout: d.transport?.heartbeatTimeout ?? SERVER_DEFAULTS.heartbeatTimeout,
      handshakeTimeout: d.transport?.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout,
      maxClockSkew: d.transport?.maxClockSkew ?? SERVER_DEFAULTS.maxClockSkew,
      insecurePlaintext: d.transport?.insecurePlaintext ?? false,
      maxStreams: d.transport?.maxStreams ?? SERVER_DEFAULTS.maxStreams,
      ...completeServerTransport(d, file),
    },
    log: { level: d.log?.level ?? SERVER_DEFAULTS.logLevel },
    webServer: completeAdmin(d.webServer),
    enablePrometheus: d.enablePrometheus ?? false,
    ...completeGroupServer(d),
    fleet: completeFleet(d, file),
  }
}

/** The admin API settings; null (off) unless webServer.port is set. */
// eslint-disable-next-line @typescript-eslint/no-duplicate-type-constituents -- one shape on both sides today; the union keeps taking both if one side's block grows a key
function completeAdmin (w: ServerInput['webServer'] | ClientInput['webServer']): AdminConfig | null {
  if (w?.port === undefined) return null
  return { addr: w.addr ?? SERVER_DEFAULTS.adminAddr, port: w.port, user: w.user ?? '', password: w.password ?? '', token: w.token ?? '' }
}

function completeClient (d: ClientInput, file: string, env: Env, missingFiles: MissingFiles): ClientConfig {
  const user = d.user ?? ''
  return {
    source: file,
    serverAddr: unbracket(d.serverAddr ?? CLIENT_DEFAULTS.serverAddr),
    serverPort: d.serverPort ?? CLIENT_DEFAULTS.serverPort,
    user,
    clientID: d.clientID !== undefined && d.clientID !== '' ? d.clientID : defaultClientID(user, file),
    loginFailExit: d.loginFailExit ?? CLIENT_DEFAULTS.loginFailExit,
    auth: {
      method: 'token',
      token: d.auth?.token ?? tokenFromSource(file, d.auth?.tokenSource, missingFiles) ?? '',
      serverKey: loadServerKey(d.auth?.serverKey),
      clientKey: loadClientKey(d.auth?.clientKey),
      clientKeyFile: d.auth?.clientKeyFile === undefined ? null : keyFilePath(file, d.auth.clientKeyFile),
    },
    transport: {
      heartbeatInterval: d.transport?.heartbeatInterval ?? CLIENT_DEFAULTS.heartbeatInterval,
      heartbeatTimeout: d.transport?.heartbeatTimeout ?? CLIENT_DEFAULTS.heartbeatTimeout,
      dialServerTimeout: d.transport?.dialServerTimeout ?? CLIENT_DEFAULTS.dialServerTimeout,
      handshakeTimeout: d.transport?.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
      insecurePlaintext: d.transport?.insecurePlaintext ?? false,
      maxStreams: d.transport?.maxStreams ?? CLIENT_DEFAULTS.maxStreams,
      connectServerLocalIP: d.transport?.connectServerLocalIP === undefined ? null : unbracket(d.transport.connectServerLocalIP),
      ...completeClientTransport(d, file, env),
    },
    log: { level: d.log?.level ?? CLIENT_DEFAULTS.logLevel },
    store: storeFilePath(file, d.store?.path),
    proxies: (d.proxies ?? []).map((p, i) => ({ p, i })).filter(({ p }) => p.enabled !== false).map(({ p, i }): ProxyConfig => {
      // A plugin takes the connections instead of localIP:localPort (frp: "useless" then).
      const plugin = p.plugin === undefined || p.type === 'udp' || p.type === 'sudp' ? {} : { plugin: completePlugin(p.plugin, file, `proxies[${i}].plugin`, missingFiles) }
      const common = {
        name: p.name,
        localIP: unbracket(p.localIP ?? CLIENT_DEFAULTS.localIP),
        localPort: p.localPort ?? 0,
        remotePort: p.remotePort ?? 0,
        allowSources: p.allowSources ?? [],
        denySources: p.denySources ?? [],
        bandwidthLimit: bandwidthBytes(p.transport?.bandwidthLimit),
        bandwidthLimitMode: p.transport?.bandwidthLimitMode ?? 'client',
      }
      if (p.type === 'http' || p.type === 'https') {
        const { remotePort: _unused, ...vhostCommon } = common
        return { ...completeVhostProxy({ ...p, type: p.type }, vhostCommon), ...plugin }
      }
      if (p.type === 'tcpmux') {
        const { remotePort: _unused, ...muxCommon } = common
        return completeTcpmuxProxy(p, muxCommon)
      }
      if (p.type === 'stcp' || p.type === 'sudp' || p.type === 'xtcp') {
        const { remotePort: _none, ...secretCommon } = common
        const secret = completeSecretProxy({ ...p, type: p.type }, secretCommon)
        return secret.type === 'stcp' ? { ...secret, ...plugin } : secret
      }
      if (p.type === 'tcp') return { ...common, type: 'tcp', proxyProtocolVersion: p.transport?.proxyProtocolVersion ?? null, maxVisitors: p.maxVisitors ?? 0, ...plugin }
      return { ...common, type: 'udp', proxyProtocolVersion: p.transport?.proxyProtocolVersion === 'v2' ? 'v2' : null, idleTimeout: p.idleTimeout ?? CLIENT_DEFAULTS.udpIdleTimeout, maxFlows: p.maxFlows ?? CLIENT_DEFAULTS.udpMaxFlows }
    }),
    webServer: completeAdmin(d.webServer),
    visitors: completeVisitors(d.visitors ?? []),
    fleet: completeClientFleet(d),
    natHoleStunServer: d.natHoleStunServer ?? '',
  }
}

/** A bandwidthLimit the schema already checked, in bytes per second (0 = none). */
function bandwidthBytes (text: string | undefined): number {
  if (text === undefined) return 0
  const r = parseBandwidth(text)
  if ('problem' in r) throw new TypeError(`bandwidthLimit ${r.problem}`) // the schema refused it already
  return r.bytes
}

// ------------------------------------------------------------------ the pipeline

/**
 * In file order (the including file first, then included ones as listed), problems without a
 * line last; the same problem reported twice only once.
 */
function byPlace<T extends { message: string, location: ConfigLocation }> (items: readonly T[]): T[] {
  const seen = new Set<string>()
  const files = new Map<string, number>()
  for (const i of items) if (!files.has(i.location.file)) files.set(i.location.file, files.size)
  const rank = (i: T): number => files.get(i.location.file) ?? 0
  return items
    .filter((i) => { const k = `${i.location.file}\0${i.location.path}\0${i.message}`; const dup = seen.has(k); seen.add(k); return !dup })
    .sort((a, b) => rank(a) - rank(b) || (a.location.line || Infinity) - (b.location.line || Infinity) || a.location.col - b.location.col)
}

function throwIfAny (issues: ConfigIssue[]): void {
  if (issues.length > 0) throw new ConfigError(byPlace(issues))
}

interface Parsed {
  ctx: CheckContext
  yamlWarnings: ConfigWarning[]
  /** A legacy INI file's v1 paths → the INI section and key each came from (legacy-ini.ts). */
  legacy?: ReadonlyMap<string, LegacySource>
}

/**
 * Env substitution and YAML; throws on templating or syntax problems. Text the YAML library
 * writes can quote the source, so it goes through the Redactor; our own messages never show
 * a value under a secret key in the first place.
 */
function parseYaml (side: Side, text: string, file: string, env: Env): Parsed {
  const sub = renderTemplate(text, env)
  const map = new SourceMap(file, text, sub.spans)
  throwIfAny(sub.problems.map((p) => ({ code: p.code, message: p.message, location: map.atOriginal(p.offset, '') })))
  const doc = parseDocument(sub.text, { uniqueKeys: true, merge: true, prettyErrors: false })
  const redact = new Redactor(sub.text)
  throwIfAny(doc.errors.map((e) => {
    const generic = redact.onSecretLine(e.pos[0]) ? 'YAML syntax error on a line holding a secret' : redact.text(e.message.split('\n')[0] ?? e.code)
    return { code: 'TUN_CONFIG_SYNTAX', message: YAML_MESSAGES[e.code] ?? generic, location: map.at(e.pos[0], '') }
  }))
  throwIfAny(complexKeys(doc, map))
  let js: unknown
  try {
    js = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    const why = redact.text(err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err))
    throwIfAny([{ code: 'TUN_CONFIG_SYNTAX', message: `the YAML cannot be read: ${why}`, location: map.whole('') }])
  }
  if (js !== undefined && js !== null && !isRecord(js)) {
    const location = map.at(doc.contents?.range?.[0] ?? 0, '')
    throwIfAny([{ code: 'TUN_CONFIG_INVALID', message: 'the file must be a mapping of settings (key: value), like the examples in configs/', location }])
  }
  const data = clean(js ?? {}, true)
  redact.addFrom(data)
  const yamlWarnings = doc.warnings.map((w) => ({ message: redact.text(w.message.split('\n')[0] ?? w.code), location: map.at(w.pos[0], '') }))
  const ctx: CheckContext = { side, doc, map, data }
  return { ctx, yamlWarnings: [...yamlWarnings, ...foldKeyCase(ctx)] }
}

/** TOML (frp's documented format): the same pipeline, with positions from toml-paths.ts. */
function parseToml (side: Side, text: string, file: string, env: Env): Parsed {
  const sub = renderTemplate(text, env)
  const map = new SourceMap(file, text, sub.spans)
  throwIfAny(sub.problems.map((p) => ({ code: p.code, message: p.message, location: map.atOriginal(p.offset, '') })))
  const redact = new Redactor(sub.text)
  let js: unknown
  try {
    js = plain(parseTomlText(sub.text))
  } catch (err) {
    const line = err instanceof TomlError ? err.line : 0
    const col = err instanceof TomlError ? err.column : 0
    const offset = offsetOfLine(sub.text, line, col)
    const twice = line > 0 ? tomlDuplicateAt(sub.text, offset, map) : undefined
    if (twice !== undefined) throwIfAny([twice])
    const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)
    const message = redact.onSecretLine(offset) ? 'TOML syntax error on a line holding a secret' : redact.text(first.replace(/^Invalid TOML document: /, 'TOML: '))
    throwIfAny([{ code: 'TUN_CONFIG_SYNTAX', message, location: line > 0 ? map.at(offset, '') : map.whole('') }])
  }
  const data = clean(js ?? {}, true)
  redact.addFrom(data)
  map.useTomlPaths(tomlPathOffsets(sub.text))
  // The checks read values from the data; a YAML document made from it keeps their interface.
  const ctx: CheckContext = { side, doc: new Document(data), map, data }
  return { ctx, yamlWarnings: foldKeyCase(ctx) }
}

/**
 * frp's legacy INI (frpc.ini / frps.ini): templates rendered as for the other formats, then the
 * INI converted to v1 data (legacy-ini.ts) whose paths point at the INI keys. `fragment`: a file
 * `includes` adds (proxy and visitor sections only).
 */
function parseLegacyIni (side: Side, text: string, file: string, env: Env, fragment = false): Parsed {
  const sub = renderTemplate(text, env)
  const map = new SourceMap(file, text, sub.spans)
  throwIfAny(sub.problems.map((p) => ({ code: p.code, message: p.message, location: map.atOriginal(p.offset, '') })))
  const converted = convertLegacyIni(sub.text, side, { fragment })
  throwIfAny(converted.issues.map((i) => ({ code: i.code, message: i.message, location: map.at(i.offset, '') })))
  const data = clean(converted.data, true)
  map.useTomlPaths(converted.offsets)
  const ctx: CheckContext = { side, doc: new Document(data), map, data }
  const notes = converted.notes.map((n) => ({ message: n.message, location: map.at(n.offset, '') }))
  return { ctx, yamlWarnings: [...notes, ...foldKeyCase(ctx)], legacy: converted.sources }
}

/** The parser a file needs: legacy INI (by extension or a [common] section, as frp tells), TOML, else YAML (and JSON). */
function parserFor (text: string, file: string): typeof parseYaml {
  return isLegacyIni(text, file) ? parseLegacyIni : isTomlFile(file) ? parseToml : parseYaml
}

/** A legacy INI file's problems and warnings name the INI key beside the v1 path (`ssh.remote_port (remotePort)`). */
function withLegacyNames<T> (parsed: Parsed, file: string, run: () => Loaded<T>): Loaded<T> {
  const sources = parsed.legacy
  if (sources === undefined) return run()
  const label = (location: ConfigLocation): ConfigLocation => (location.file === file ? { ...location, path: legacyLabel(sources, location.path) } : location)
  let loaded: Loaded<T>
  try {
    loaded = run()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(err.issues.map((i) => ({ ...i, location: label(i.location) })), { cause: err })
  }
  const warnings = loaded.warnings.map((w) => {
    const { path } = w.location
    if (w.location.file !== file || path === '' || !w.message.startsWith(`${path} `)) return w
    return { ...w, message: legacyLabel(sources, path) + w.message.slice(path.length) }
  })
  return { ...loaded, warnings }
}

/** The key or table defined a second time on the line of `offset` (where the TOML library stopped), named with the line of its first definition. */
function tomlDuplicateAt (text: string, offset: number, map: SourceMap): ConfigIssue | undefined {
  const lineOf = (o: number): number => map.at(o, '').line
  const here = lineOf(offset)
  const dup = tomlDuplicates(text).find((d) => lineOf(d.again) === here)
  if (dup === undefined) return undefined
  const location = map.at(dup.again, dup.path)
  return { code: 'TUN_CONFIG_SYNTAX', message: `is defined twice: first on line ${lineOf(dup.first)}, again on line ${location.line}; keep one (TOML allows a key or table once)`, location }
}

/** Plain objects (the TOML library makes null-prototype ones) and strings for TOML dates. */
function plain (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain)
  if (v instanceof TomlDate) return v.toISOString()
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

/** Offset of a 1-based line and column in `text` (0 when line is 0). */
function offsetOfLine (text: string, line: number, col: number): number {
  let offset = 0
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset)
    if (next === -1) break
    offset = next + 1
  }
  return offset + Math.max(0, col - 1)
}

/** frp picks the format by the file's extension; so do we (JSON is read as YAML, its superset). */
export function isTomlFile (file: string): boolean {
  return file.toLowerCase().endsWith('.toml')
}

/** What included files add to the including one (includes.ts): their problems, warnings and proxies. */
interface Included {
  issues: ConfigIssue[]
  warnings: ConfigWarning[]
  contexts: CheckContext[]
  files: string[]
}

function finish<I, T> (parsed: Parsed, schema: z.ZodType<I>, complete: (input: I) => T, more: Included | undefined, missingFiles: MissingFiles): Loaded<T> {
  const { ctx } = parsed
  let result = schema.safeParse(ctx.data)
  const checked = splitMissingFiles([...crossFieldIssues(ctx), ...(more?.issues ?? [])], missingFiles, ctx.side)
  throwIfAny([...(result.success ? [] : mapZodIssues(ctx, result.error.issues)), ...checked.issues])
  if (!result.success || more !== undefined) result = schema.safeParse(withIncluded(withoutSkippedProxies(ctx.data), more?.contexts ?? []))
  if (!result.success) throw new ConfigError(mapZodIssues(ctx, result.error.issues))
  const moreProxies = (more?.contexts ?? []).some((c) => Array.isArray(valueAt(c.data, ['proxies'])))
  const warnings = byPlace([...parsed.yamlWarnings, ...configWarnings(ctx, { moreProxies }), ...(more?.warnings ?? []), ...checked.warnings])
  return { config: complete(result.data), warnings, ...(more === undefined ? {} : { included: more.files }) }
}

/** The including file's data with the proxies and visitors of the included ones appended, in order. */
function withIncluded (data: unknown, contexts: readonly CheckContext[]): unknown {
  if (contexts.length === 0 || !isRecord(data)) return data
  const out: Record<string, unknown> = { ...data }
  for (const key of INCLUDED_KEYS) {
    const lists = [data, ...contexts.map((c) => withoutSkippedProxies(c.data))].map((d) => valueAt(d, [key])).filter(Array.isArray)
    if (lists.length > 0) out[key] = lists.flat()
  }
  return out
}

/** Reads and checks the files `includes` names, each in its own place (file:line:col). */
function loadIncludes (parsed: Parsed, env: Env): Included | undefined {
  const found = readIncludes(parsed.ctx)
  const store = readStoreFile(parsed.ctx)
  found.issues.push(...store.issues)
  if (store.file !== undefined) found.files.push(store.file)
  if (found.files.length === 0 && found.issues.length === 0 && found.warnings.length === 0) return undefined
  const more: Included = { issues: [...found.issues], warnings: [...found.warnings], contexts: [], files: found.files.map((f) => f.path) }
  for (const f of found.files) {
    let inc: Parsed
    try {
      inc = isLegacyIni(f.text, f.path) ? parseLegacyIni('client', f.text, f.path, env, true) : parserFor(f.text, f.path)('client', f.text, f.path, env)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      more.issues.push(...err.issues)
      continue
    }
    // Its proxies are the including file's client's: checks that need its user get it.
    const owner = valueAt(parsed.ctx.data, ['user'])
    inc.ctx.includedBy = { user: typeof owner === 'string' ? owner : '' }
    const checked = clientSchema.safeParse(inc.ctx.data)
    more.issues.push(...(checked.success ? [] : mapZodIssues(inc.ctx, checked.error.issues)), ...crossFieldIssues(inc.ctx))
    more.warnings.push(...inc.yamlWarnings, ...unreadKeys(inc.ctx), ...configWarnings(inc.ctx, { included: true }))
    more.contexts.push(inc.ctx)
  }
  more.issues.push(...crossFileIssues([parsed.ctx, ...more.contexts]))
  return more
}

/** The data without disabled proxies and visitors of unsupported types (whose issues were dropped). */
function withoutSkippedProxies (data: unknown): unknown {
  if (!isRecord(data)) return data
  const out = { ...data }
  for (const list of ['proxies', 'visitors'] as const) {
    const entries = data[list]
    if (!Array.isArray(entries)) continue
    const skip = unsupportedProxies(data, list)
    out[list] = entries.filter((_, i) => skip.get(i) !== true)
  }
  return out
}

/** `opts.missingFiles: 'warn'` is `tunnel verify`'s mode: a file a key names that is not on this machine is a warning. */
export function parseServerConfig (text: string, file: string, env: Env = process.env, opts: LoadOptions = {}): Loaded<ServerConfig> {
  const parsed = parserFor(text, file)('server', text, file, env)
  const missingFiles = opts.missingFiles ?? 'refuse'
  return withLegacyNames(parsed, file, () => finish(parsed, serverSchema, (d) => completeServer(d, file, missingFiles), undefined, missingFiles))
}

export function parseClientConfig (text: string, file: string, env: Env = process.env, opts: LoadOptions = {}): Loaded<ClientConfig> {
  const parsed = parserFor(text, file)('client', text, file, env)
  const missingFiles = opts.missingFiles ?? 'refuse'
  return withLegacyNames(parsed, file, () => finish(parsed, clientSchema, (d) => withGroupKeys(completeClient(d, file, env, missingFiles), d), loadIncludes(parsed, env), missingFiles))
}

const READ_REASONS: Record<string, string> = {
  ENOENT: 'no such file; check the path given with -c',
  EACCES: 'permission denied; check the file mode and owner',
  EISDIR: 'it is a directory, not a file',
}

/** The file's text, or ConfigError TUN_CONFIG_READ. */
export async function readConfigFile (file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    const why = READ_REASONS[code] ?? (err instanceof Error ? err.message : String(err))
    throw new ConfigError([{ code: 'TUN_CONFIG_READ', message: `cannot read the file: ${why}`, location: { file, line: 0, col: 0, path: '' } }], { cause: err })
  }
}

export async function loadServerConfig (file: string, env: Env = process.env): Promise<Loaded<ServerConfig>> {
  return parseServerConfig(await readConfigFile(file), file, env)
}

export async function loadClientConfig (file: string, env: Env = process.env): Promise<Loaded<ClientConfig>> {
  return parseClientConfig(await readConfigFile(file), file, env)
}
