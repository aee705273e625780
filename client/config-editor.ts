// The config file behind the client dashboard's editor (GET/POST /api/config*): only the file the
// client was started with (-c), read as text, checked exactly as `tunnel verify` and a reload
// check it (the same loader, with file:line:col), and applied by writing it and running the same
// reload as SIGHUP. Safety:
// - a text that does not verify, or that changes a setting a reload cannot apply (serverAddr,
//   auth.*, transport.*, ...), is refused before anything is written;
// - apply names the revision (SHA-256) of the text it was edited from; if the file changed on
//   disk since, nothing is written (a conflict, TUN_ADMIN_CONFIG_CONFLICT);
// - the file is replaced atomically (a temporary file beside it, fsync, rename over it), keeping
//   its mode and, where allowed, its owner; the previous text is kept as FILE.bak;
// - when the reload refuses the written file after all (the environment changed meanwhile), the
//   previous text is put back;
// - one apply at a time.
import { createHash, randomBytes } from 'node:crypto'
import { chown, copyFile, open, realpath, rename, rm, stat } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import type { Logger } from 'pino'
import type { ApplyResult, ConfigCheck, ConfigEditorApi, ConfigIssueAt, ConfigText, ReloadOutcome } from '../shared/admin/index.js'
import { parseClientConfig, readConfigFile, type ClientConfig, type Env } from '../shared/config/index.js'
import { ConfigError, TunnelError } from '../shared/errors.js'
import { refusedReload } from '../shared/reload-outcome.js'
import { fixedSettingChanges } from './proxy/index.js'

export const BACKUP_SUFFIX = '.bak'

export interface ConfigEditorOptions {
  /** The path the client was started with. */
  file: string
  /** The running config (a check compares the settings a reload cannot change). */
  running: () => ClientConfig
  /** The reload SIGHUP runs: reads the file and applies it. */
  reload: () => Promise<ReloadOutcome>
  log: Logger
  env?: Env
}

export const revisionOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

/** The 1-based line where `path` (`auth.token`) is written, 0 when it cannot be found. */
export function lineOfSetting (text: string, path: string): number {
  const lines = text.split('\n')
  const parts = path.split('.')
  const key = (k: string): RegExp => new RegExp(`^\\s*(?:\\[\\s*)?["']?${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*(?:[:=\\]]|\\.)`)
  const top = lines.findIndex((l) => key(parts[0] ?? '').test(l))
  if (top === -1) return 0
  const last = parts.at(-1) ?? ''
  if (parts.length === 1) return top + 1
  const nested = lines.findIndex((l, i) => i >= top && key(last).test(l))
  return (nested === -1 ? top : nested) + 1
}

export class ConfigEditor implements ConfigEditorApi {
  readonly #o: ConfigEditorOptions
  #queue: Promise<unknown> = Promise.resolve()

  constructor (options: ConfigEditorOptions) {
    this.#o = options
  }

  async read (): Promise<ConfigText> {
    const text = await readConfigFile(this.#o.file)
    return { file: this.#o.file, format: this.#o.file.toLowerCase().endsWith('.toml') ? 'toml' : 'yaml', text, revision: revisionOf(text) }
  }

  /** What `tunnel verify` says of `text` as this file, plus the settings a reload would refuse. */
  check (text: string): ConfigCheck {
    let config: ClientConfig
    let warnings: ConfigIssueAt[]
    try {
      const loaded = parseClientConfig(text, this.#o.file, this.#o.env ?? process.env)
      config = loaded.config
      warnings = loaded.warnings.map((w) => ({ ...place(w.location), code: null, message: w.message }))
    } catch (err) {
      return { ok: false, errors: issuesOf(err), warnings: [] }
    }
    const fixed = fixedSettingChanges(this.#o.running(), config)
    const errors = fixed.map((path) => ({
      line: lineOfSetting(text, path),
      col: 1,
      path,
      code: 'TUN_RELOAD_REFUSED' as const,
      message: `${path} changed: only proxies can change on a running client (restart it for this setting, or put it back)`,
    }))
    return { ok: errors.length === 0, errors, warnings }
  }

  apply (text: string, revision: string): Promise<ApplyResult> {
    const run = this.#queue.then(async () => await this.#apply(text, revision))
    this.#queue = run.catch(() => {})
    return run
  }

  async #apply (text: string, revision: string): Promise<ApplyResult> {
    const { file, log } = this.#o
    const current = await this.read()
    if (current.revision !== revision) {
      return { conflict: `${file} changed on disk since the editor read it: nothing was written; read it again and redo the change` }
    }
    const check = this.check(text)
    if (!check.ok) {
      const errors = check.errors.map((e) => ({ proxy: null, code: e.code ?? 'TUN_CONFIG_INVALID', message: e.line > 0 ? `${file}:${e.line}:${e.col} ${e.path === '' ? '' : `${e.path}: `}${e.message}` : e.message }))
      return { check, outcome: refusedReload(errors), revision: current.revision, backup: null }
    }
    const backup = `${file}${BACKUP_SUFFIX}`
    try {
      await writeAtomically(file, text, backup)
    } catch (err) {
      const message = `cannot write ${file}: ${err instanceof Error ? err.message : String(err)}; nothing changed`
      log.error({ code: 'TUN_CONFIG_WRITE', file }, message)
      throw new TunnelError('TUN_CONFIG_WRITE', message, { cause: err })
    }
    log.info({ file, backup }, 'config file written from the admin API; reloading')
    const outcome = await this.#o.reload()
    if (outcome.status === 'refused') {
      // The file verified a moment ago; if the reload still refused it, the file and the running
      // client would disagree: put the previous text back.
      await writeAtomically(file, current.text)
      log.warn({ file }, 'the reload refused the written file: the previous text is back')
      return { check, outcome, revision: current.revision, backup }
    }
    return { check, outcome, revision: revisionOf(text), backup }
  }
}

function place (l: { line: number, col: number, path: string }): Pick<ConfigIssueAt, 'line' | 'col' | 'path'> {
  return { line: l.line, col: l.col, path: l.path }
}

function issuesOf (err: unknown): ConfigIssueAt[] {
  if (err instanceof ConfigError) return err.issues.map((i) => ({ ...place(i.location), code: i.code, message: i.message }))
  const code = err instanceof TunnelError ? err.code : 'TUN_CONFIG_INVALID'
  return [{ line: 0, col: 0, path: '', code, message: err instanceof Error ? err.message : String(err) }]
}

/**
 * Replaces `file` with `text` so that a reader sees the old file or the new one, never a part:
 * a temporary file in the same directory (same mode, owner kept where allowed), fsync, then a
 * rename over the target (a symbolic link's target, not the link). With `backup`, the previous
 * file is copied there first. A file that does not exist yet is created with mode 600 (its
 * folder must exist).
 */
export async function writeAtomically (file: string, text: string, backup?: string): Promise<void> {
  const existing = await realpath(file).then(async (target) => ({ target, info: await stat(target) }), (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  })
  const target = existing?.target ?? file
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', existing === undefined ? 0o600 : existing.info.mode & 0o777)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } catch (err) {
    await handle.close()
    await rm(tmp, { force: true })
    throw err
  }
  await handle.close()
  try {
    if (existing !== undefined) await chown(tmp, existing.info.uid, existing.info.gid).catch(() => { /* not ours to give away: the file keeps our owner */ })
    if (backup !== undefined && existing !== undefined) await copyFile(target, backup)
    await rename(tmp, target)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
