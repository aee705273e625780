// The transport keys of both files (issue 18): frp's transport.protocol, transport.tls.* and
// transport.proxyURL, our transport.websocket block; their checks (files that must exist, pairs
// that go together) and their defaults. The counterpart of load.ts's complete*() for these keys.
import { readFileSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { normalizeAddress } from '../net/index.js'
import { ConfigError, type ConfigIssue, type ConfigLocation } from '../errors.js'
import { keyFilePath } from './keys.js'
import { locate, type ConfigPath } from './locate.js'
import { parseProxyUrl, proxyFromEnv, type ProxyUrl } from './proxy-url.js'
import type { ClientInput, ServerInput } from './schema.js'
import type { ClientConfig, ServerConfig } from './types.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'
import type { Env } from './env.js'
import { fileReadProblem, missingFileIssue, type FileProblem } from './missing-files.js'

/** Longest PEM file read (a certificate chain with its key is a few KiB). */
export const MAX_PEM_FILE_BYTES = 1024 * 1024

type ClientTransport = Pick<ClientConfig['transport'], 'protocol' | 'tls' | 'proxyURL'>
type ServerTransport = Pick<ServerConfig['transport'], 'tls' | 'websocket'>

export function completeClientTransport (d: ClientInput, file: string, env: Env): ClientTransport {
  const t = d.transport
  const tls = t?.tls
  const protocol = t?.protocol ?? 'tcp'
  return {
    protocol,
    tls: {
      enable: tls?.enable ?? false,
      certFile: pemPath(file, tls?.certFile),
      keyFile: pemPath(file, tls?.keyFile),
      trustedCaFile: pemPath(file, tls?.trustedCaFile),
      serverName: tls?.serverName ?? '',
      disableCustomTLSFirstByte: tls?.disableCustomTLSFirstByte ?? true,
    },
    proxyURL: clientProxy(t?.proxyURL, protocol === 'wss', d.serverAddr ?? '', d.serverPort ?? 0, file, env),
  }
}

export function completeServerTransport (d: ServerInput, file: string): ServerTransport {
  const tls = d.transport?.tls
  const ws = d.transport?.websocket
  const trustedCaFile = pemPath(file, tls?.trustedCaFile)
  return {
    tls: {
      force: (tls?.force ?? false) || trustedCaFile !== null,
      certFile: pemPath(file, tls?.certFile),
      keyFile: pemPath(file, tls?.keyFile),
      trustedCaFile,
    },
    websocket: {
      enable: ws?.enable ?? true,
      trustedProxies: ws?.trustedProxies ?? [],
      bindPort: ws?.bindPort ?? 0,
    },
  }
}

function pemPath (file: string, path: string | undefined): string | null {
  return path === undefined ? null : keyFilePath(file, path)
}

/** transport.proxyURL (checked by transportIssues), else the environment's proxy for the relay. */
function clientProxy (text: string | undefined, secure: boolean, host: string, port: number, file: string, env: Env): ProxyUrl | null {
  if (text !== undefined) {
    const p = parseProxyUrl(text, 'transport.proxyURL')
    if ('problem' in p) throw new TypeError(`transport.proxyURL ${p.problem}`) // transportIssues refused it already
    return p
  }
  const fromEnv = proxyFromEnv(env, secure, host === '' ? '127.0.0.1' : host, port === 0 ? 7000 : port)
  if (fromEnv === undefined) return null
  const p = parseProxyUrl(fromEnv.value, fromEnv.name)
  if ('problem' in p) {
    throw new ConfigError([{ code: 'TUN_CONFIG_INVALID', message: `the environment variable ${fromEnv.name} ${p.problem}; fix it, set transport.proxyURL, or name the relay in NO_PROXY`, location: { file, line: 0, col: 0, path: 'transport.proxyURL' } }])
  }
  return p
}

/** A PEM file that exists, is a file, is not too long and holds a PEM block; else why not. */
export function pemFileProblem (path: string, kind: 'certificate' | 'private key'): string | undefined {
  return pemFileCheck(path, kind)?.problem
}

/** pemFileProblem, saying also whether the file does not exist. */
function pemFileCheck (path: string, kind: 'certificate' | 'private key'): FileProblem | undefined {
  try {
    const st = statSync(path)
    if (!st.isFile()) return { problem: `${path} is not a regular file`, missing: false }
    if (st.size > MAX_PEM_FILE_BYTES) return { problem: `${path} is ${st.size} bytes, too long for a ${kind} file`, missing: false }
    const text = readFileSync(path, 'utf8')
    const label = kind === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/
    if (!label.test(text)) return { problem: `${path} holds no PEM ${kind} (-----BEGIN ${kind === 'certificate' ? 'CERTIFICATE' : '... PRIVATE KEY'}-----)`, missing: false }
    return undefined
  } catch (err) {
    return fileReadProblem(path, err)
  }
}

function issue (ctx: CheckContext, path: ConfigPath, message: string): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: locate(ctx.doc, ctx.map, path, { key: false }) }
}

/** Problems with the transport keys of either file (the schema checked their types). */
export function transportIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const tls = valueAt(ctx.data, ['transport', 'tls'])
  if (isRecord(tls)) {
    const files: Array<[string, 'certificate' | 'private key']> = [['certFile', 'certificate'], ['keyFile', 'private key'], ['trustedCaFile', 'certificate']]
    for (const [key, kind] of files) {
      const v = tls[key]
      if (typeof v !== 'string' || v === '') continue
      const problem = pemFileCheck(keyFilePath(ctx.map.file, v), kind)
      if (problem !== undefined) issues.push(missingFileIssue(issue(ctx, ['transport', 'tls', key], problem.problem), problem.missing))
    }
    const cert = typeof tls.certFile === 'string'
    const key = typeof tls.keyFile === 'string'
    if (cert !== key) issues.push(issue(ctx, ['transport', 'tls', cert ? 'certFile' : 'keyFile'], 'certFile and keyFile go together: set both, or neither'))
  }
  const proxyURL = valueAt(ctx.data, ['transport', 'proxyURL'])
  if (ctx.side === 'client' && typeof proxyURL === 'string' && proxyURL !== '') {
    const p = parseProxyUrl(proxyURL, 'transport.proxyURL')
    if ('problem' in p) issues.push(issue(ctx, ['transport', 'proxyURL'], p.problem))
  }
  return issues
}

/**
 * A client's tls.* settings that do nothing because TLS is off: frp turns TLS on by default, we do
 * not, so an frp file with tls.trustedCaFile but no tls.enable would silently go without it.
 */
export function transportWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  if (ctx.side !== 'client') return []
  return [...localIpWarnings(ctx), ...tlsOffWarnings(ctx)]
}

/** connectServerLocalIP that no interface of this machine has: every connection to the relay would fail (EADDRNOTAVAIL). */
function localIpWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  const ip = valueAt(ctx.data, ['transport', 'connectServerLocalIP'])
  if (typeof ip !== 'string' || isIP(ip.replace(/^\[|\]$/g, '')) === 0) return []
  const bare = normalizeAddress(ip.replace(/^\[|\]$/g, ''))
  const mine = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => normalizeAddress(i.address)))
  if (mine.includes(bare) || bare === '0.0.0.0' || bare === '::') return [] // the wildcard: any of them
  return [{
    message: `transport.connectServerLocalIP ${bare} is not an address of this machine (it has ${mine.join(', ')}): connecting to the relay will fail with EADDRNOTAVAIL until it is`,
    location: locate(ctx.doc, ctx.map, ['transport', 'connectServerLocalIP']),
  }]
}

function tlsOffWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  const tls = valueAt(ctx.data, ['transport', 'tls'])
  if (!isRecord(tls) || tls.enable === true || valueAt(ctx.data, ['transport', 'protocol']) === 'wss') return []
  return ['certFile', 'keyFile', 'trustedCaFile', 'serverName', 'disableCustomTLSFirstByte']
    .filter((k) => Object.hasOwn(tls, k))
    .map((k) => ({
      message: `transport.tls.${k} has no effect: TLS is off (tunnel's transport.tls.enable defaults to false, frp's to true; the handshake encrypts either way); set transport.tls.enable: true or transport.protocol: wss to use it`,
      location: locate(ctx.doc, ctx.map, ['transport', 'tls', k], { key: true }),
    }))
}
