// The keys in a config: auth.privateKey / auth.privateKeyFile (frps.yml) and auth.serverKey
// (frpc.yml), checked at load with file:line:col issues, and turned into bytes. The private key
// file must not be readable by group or others. Key values never appear in messages.
import { readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { Secret } from '../secret.js'
import type { ClientKeyRule } from './types.js'
import { decodeKey } from '../transport/index.js'
import { locate } from './locate.js'
import { type CheckContext, valueAt } from './validate.js'

/** Longest private key file we read (a key is 44 characters; comments and newlines allowed). */
const MAX_KEY_FILE_BYTES = 4096

/** `auth.privateKeyFile` relative to the config file's directory. */
export function keyFilePath (configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path)
}

/** The key text of a key file (first non-empty, non-# line), or a reason it cannot be used. */
export function readKeyFile (path: string): { text: string } | { problem: string } {
  let mode: number
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) return { problem: `${path} is not a regular file` }
    mode = st.mode
    size = st.size
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { problem: code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code ?? String(err)})` }
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return { problem: `${path} is readable or writable by group or others (mode 0${(mode & 0o777).toString(8)}); run: chmod 600 ${path}` }
  }
  if (size > MAX_KEY_FILE_BYTES) return { problem: `${path} is ${size} bytes, too long for a key file` }
  try {
    const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    return { text: lines[0] ?? '' }
  } catch (err) {
    return { problem: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})` }
  }
}

function issue (ctx: CheckContext, path: string[], message: string): ConfigIssue {
  return { code: 'TUN_CONFIG_INVALID', message, location: locate(ctx.doc, ctx.map, path, { key: false }) }
}

/** Problems with the key settings of either file. */
export function keyIssues (ctx: CheckContext): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const check = (key: string, text: unknown, what: string): void => {
    if (typeof text !== 'string') return
    const key32 = decodeKey(text)
    if (typeof key32 === 'string') issues.push(issue(ctx, ['auth', key], `${what} ${key32}`))
  }
  if (ctx.side === 'client') {
    check('serverKey', valueAt(ctx.data, ['auth', 'serverKey']), 'the relay\'s public key')
    const inlineKey = valueAt(ctx.data, ['auth', 'clientKey'])
    if (typeof inlineKey === 'string' && typeof valueAt(ctx.data, ['auth', 'clientKeyFile']) === 'string') {
      issues.push(issue(ctx, ['auth', 'clientKeyFile'], 'set auth.clientKey or auth.clientKeyFile, not both'))
    }
    check('clientKey', inlineKey, 'the client key')
    return issues
  }
  const rules = valueAt(ctx.data, ['auth', 'clientKeys'])
  if (Array.isArray(rules)) {
    rules.forEach((r: unknown, i) => {
      const text = r !== null && typeof r === 'object' ? (r as Record<string, unknown>).publicKey : undefined
      if (typeof text !== 'string') return
      const key32 = decodeKey(text)
      if (typeof key32 === 'string') issues.push(issue(ctx, ['auth', 'clientKeys', String(i), 'publicKey'], `the client's public key ${key32}`))
    })
  }
  const inline = valueAt(ctx.data, ['auth', 'privateKey'])
  const file = valueAt(ctx.data, ['auth', 'privateKeyFile'])
  if (typeof inline === 'string' && typeof file === 'string') {
    issues.push(issue(ctx, ['auth', 'privateKeyFile'], 'set auth.privateKey or auth.privateKeyFile, not both'))
    return issues
  }
  check('privateKey', inline, 'the private key')
  if (typeof file === 'string' && file !== '') {
    const read = readKeyFile(keyFilePath(ctx.map.file, file))
    if ('problem' in read) issues.push(issue(ctx, ['auth', 'privateKeyFile'], read.problem))
    else {
      const key32 = decodeKey(read.text)
      if (typeof key32 === 'string') issues.push(issue(ctx, ['auth', 'privateKeyFile'], `the key in ${file} ${key32}`))
    }
  }
  return issues
}

/** The relay's private key from checked settings (keyIssues ran first; a file that changed since throws). */
export function loadPrivateKey (auth: { privateKey?: string | undefined, privateKeyFile?: string | undefined } | undefined, configFile: string): Secret | null {
  let text = auth?.privateKey
  if (text === undefined && auth?.privateKeyFile !== undefined) {
    const read = readKeyFile(keyFilePath(configFile, auth.privateKeyFile))
    if ('problem' in read) throw changed(configFile, 'auth.privateKeyFile', read.problem)
    text = read.text
  }
  if (text === undefined) return null
  const key = decodeKey(text)
  if (typeof key === 'string') throw changed(configFile, 'auth.privateKeyFile', `the key ${key}`)
  return new Secret(key)
}

/** auth.clientKeys from checked settings (keyIssues refused any bad key). */
export function loadClientKeyRules (rules: ReadonlyArray<{ publicKey: string, user?: string | undefined, clientID?: string | undefined }> | undefined): ClientKeyRule[] {
  return (rules ?? []).map((r) => {
    const key = decodeKey(r.publicKey)
    if (typeof key === 'string') throw new TypeError(`auth.clientKeys publicKey ${key}`) // refused by keyIssues already
    return { publicKey: key, ...(r.user === undefined ? {} : { user: r.user }), ...(r.clientID === undefined ? {} : { clientID: r.clientID }) }
  })
}

/** This client's inline key (auth.clientKey), checked by keyIssues. */
export function loadClientKey (text: string | undefined): Secret | null {
  if (text === undefined) return null
  const key = decodeKey(text)
  if (typeof key === 'string') throw new TypeError(`auth.clientKey ${key}`) // refused by keyIssues already
  return new Secret(key)
}

export function loadServerKey (text: string | undefined): Uint8Array | null {
  if (text === undefined) return null
  const key = decodeKey(text)
  if (typeof key === 'string') throw new TypeError(`auth.serverKey ${key}`) // keyIssues refused it already
  return key
}

/** The key file changed between the check and the read (a race): still a config error. */
function changed (file: string, path: string, problem: string): ConfigError {
  return new ConfigError([{ code: 'TUN_CONFIG_INVALID', message: problem, location: { file, line: 0, col: 0, path } }])
}
