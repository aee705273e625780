// frp's auth.tokenSource (both files): the token read from a file at load, so it stays out of the
// config (and out of `ps`, unlike an environment variable set on the command line). frp also has
// `type: exec`, behind its unsafe-feature switch; a config file that runs a program is refused here.
import { readFileSync, statSync } from 'node:fs'
import type { ConfigIssue } from '../errors.js'
import { keyFilePath } from './keys.js'
import { locate, type ConfigPath } from './locate.js'
import type { TokenSourceInput } from './token-source-schema.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'
import { fileReadProblem, missingFileIssue, type FileProblem, type MissingFiles } from './missing-files.js'

/** Longest token file read (a token is a line; this leaves room for a trailing comment-free newline or two). */
export const MAX_TOKEN_FILE_BYTES = 4096

/** The token in `path`, trimmed, or why it cannot be used. */
export function readTokenFile (path: string): { token: string } | FileProblem {
  try {
    const st = statSync(path)
    if (!st.isFile()) return { problem: `${path} is not a regular file`, missing: false }
    if (st.size > MAX_TOKEN_FILE_BYTES) return { problem: `${path} is ${st.size} bytes, too long for a token file (at most ${MAX_TOKEN_FILE_BYTES})`, missing: false }
    const token = readFileSync(path, 'utf8').trim()
    if (token === '') return { problem: `${path} is empty: write the token into it`, missing: false }
    return { token }
  } catch (err) {
    return fileReadProblem(path, err)
  }
}

/**
 * The token a checked auth.tokenSource names (tokenSourceIssues refused every other case first;
 * in 'warn' mode a missing file was only warned about, and there is no token).
 */
export function tokenFromSource (configFile: string, source: TokenSourceInput | undefined, missingFiles: MissingFiles = 'refuse'): string | undefined {
  if (source?.type !== 'file' || source.file === undefined) return undefined
  const read = readTokenFile(keyFilePath(configFile, source.file.path))
  if ('problem' in read && read.missing && missingFiles === 'warn') return undefined
  if ('problem' in read) throw new TypeError(`auth.tokenSource.file.path: ${read.problem}`) // tokenSourceIssues refused it already
  return read.token
}

/** Problems with auth.tokenSource in either file, each at its key. */
export function tokenSourceIssues (ctx: CheckContext): ConfigIssue[] {
  const source = valueAt(ctx.data, ['auth', 'tokenSource'])
  if (!isRecord(source)) return []
  const at = (path: ConfigPath, message: string): ConfigIssue => ({ code: 'TUN_CONFIG_INVALID', message, location: locate(ctx.doc, ctx.map, path, { key: false }) })
  const issues: ConfigIssue[] = []
  const token = valueAt(ctx.data, ['auth', 'token'])
  if (typeof token === 'string' && token !== '') issues.push(at(['auth', 'tokenSource'], 'auth.token and auth.tokenSource are both set: keep one (frp refuses both too)'))
  if (source.type === 'exec') {
    issues.push(at(['auth', 'tokenSource', 'type'], 'type exec is not supported: a config file does not run programs here; write the token to a file and use type: file, or use {{ .Envs.NAME }}'))
    return issues
  }
  if (source.type !== 'file') return issues // the schema names the allowed types
  const path = valueAt(source, ['file', 'path'])
  if (typeof path !== 'string') {
    issues.push(at(['auth', 'tokenSource'], 'type file needs file.path: the file holding the token'))
    return issues
  }
  if (path === '') return issues // the schema refuses an empty path
  const read = readTokenFile(keyFilePath(ctx.map.file, path))
  if ('problem' in read) issues.push(missingFileIssue(at(['auth', 'tokenSource', 'file', 'path'], read.problem), read.missing))
  return issues
}
