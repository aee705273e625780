// Defaults for frp's client plugins (the counterpart of load.ts's completeClient for `plugin:`):
// paths resolved against the config file's folder, credentials as secrets (on when either half is
// set, as in frp), localAddr split, and the certificate and key read (plugin-checks.ts checked
// them; a file that changed since is still a config error).
import { ConfigError } from '../errors.js'
import { parseHostPort } from '../net/index.js'
import { Secret } from '../secret.js'
import { keyFilePath } from './keys.js'
import { readPemFile } from './plugin-checks.js'
import type { PluginInput } from './plugin-schema.js'
import type { PluginCertificate, PluginConfig, PluginCredentials, PluginUpstream } from './types.js'
import type { MissingFiles } from './missing-files.js'

function credentials (user: string | undefined, password: string | undefined): PluginCredentials | null {
  if ((user ?? '') === '' && (password ?? '') === '') return null
  return { user: user ?? '', password: new Secret(Buffer.from(password ?? '', 'utf8')) }
}

function upstream (text: string): PluginUpstream {
  const r = parseHostPort(text)
  if ('error' in r) throw new TypeError(`localAddr ${r.error}`) // the schema refused it already
  return { host: r.host.startsWith('[') ? r.host.slice(1, -1) : r.host, port: r.port }
}

function certificate (p: { crtPath?: string | undefined, keyPath?: string | undefined }, file: string, where: string, missingFiles: MissingFiles): PluginCertificate | null {
  if (p.crtPath === undefined || p.keyPath === undefined) return null
  const crtPath = keyFilePath(file, p.crtPath)
  const keyPath = keyFilePath(file, p.keyPath)
  const cert = readPemFile(crtPath)
  const key = readPemFile(keyPath)
  // `tunnel verify` warned about a missing file; what it checks is the rest of the file.
  if (missingFiles === 'warn' && (('problem' in cert && cert.missing) || ('problem' in key && key.missing))) return null
  const problem = 'problem' in cert ? cert.problem : 'problem' in key ? key.problem : undefined
  if (problem !== undefined || 'problem' in cert || 'problem' in key) {
    throw new ConfigError([{ code: 'TUN_CONFIG_READ', message: problem ?? 'cannot read the certificate', location: { file, line: 0, col: 0, path: `${where}.crtPath` } }])
  }
  return { crtPath, keyPath, cert: cert.bytes, key: new Secret(key.bytes) }
}

/** `static` and `/static/` alike: the prefix without slashes at either end ('' = none). */
function stripSlashes (prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+|\/+$/g, '')
}

/** The plugin of a checked proxy; `where` is its dotted path for messages (proxies[3].plugin). */
export function completePlugin (p: PluginInput, file: string, where: string, missingFiles: MissingFiles = 'refuse'): PluginConfig {
  const rewrite = { hostHeaderRewrite: 'hostHeaderRewrite' in p ? p.hostHeaderRewrite ?? '' : '', requestHeaders: 'requestHeaders' in p ? p.requestHeaders?.set ?? {} : {} }
  switch (p.type) {
    case 'http_proxy': return { type: p.type, credentials: credentials(p.httpUser, p.httpPassword) }
    case 'socks5': return { type: p.type, credentials: credentials(p.username, p.password) }
    case 'static_file': return { type: p.type, localPath: keyFilePath(file, p.localPath), stripPrefix: stripSlashes(p.stripPrefix), credentials: credentials(p.httpUser, p.httpPassword) }
    case 'unix_domain_socket': return { type: p.type, unixPath: keyFilePath(file, p.unixPath) }
    case 'http2http':
    case 'http2https':
      return { type: p.type, localAddr: upstream(p.localAddr), ...rewrite }
    case 'https2http':
    case 'https2https':
      return { type: p.type, localAddr: upstream(p.localAddr), certificate: certificate(p, file, where, missingFiles), enableHTTP2: p.enableHTTP2 ?? true, ...rewrite }
    case 'tls2raw':
      return { type: p.type, localAddr: upstream(p.localAddr), certificate: certificate(p, file, where, missingFiles) }
  }
}
