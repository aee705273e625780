// frps.yml's httpPlugins as the relay uses them: for each operation, the plugins that take it,
// asked one after another in the file's order, each seeing the content the previous one left (a
// rejection stops the chain). What a failure means depends on the operation:
//   Login, NewProxy, NewUserConn, NewWorkConn  fail closed: the login, proxy or visitor is refused
//   Ping                                       a rejection closes the session; a failure is logged
//   CloseProxy                                 a notice: sent without waiting, failures logged
// Every call is bounded in time and in number (http-plugin.ts), so a slow plugin delays only the
// logins, proxies and visitors it is asked about, never other sessions.
import type { Logger } from 'pino'
import type { HttpPluginConfig, PluginOp } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import type { Endpoint, Login, ProxySpec } from '../../shared/wire/index.js'
import { LogLimiter } from '../log-limiter.js'
import { HttpPlugin, type PluginCounters } from './http-plugin.js'
import { closeProxyContent, loginChanges, loginContent, newProxyContent, newUserConnContent, newWorkConnContent, pingContent, specFromContent, type PluginUser } from './plugin-content.js'

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export class RelayPlugins {
  readonly #plugins: HttpPlugin[]
  readonly #log: Logger
  readonly #limiter = new LogLimiter()

  constructor (configs: readonly HttpPluginConfig[], log: Logger, timeoutMs?: number) {
    this.#plugins = configs.map((c) => new HttpPlugin(c, timeoutMs))
    this.#log = log
  }

  /** Undefined when frps.yml has no httpPlugins. */
  static fromConfig (configs: readonly HttpPluginConfig[], log: Logger, timeoutMs?: number): RelayPlugins | undefined {
    return configs.length === 0 ? undefined : new RelayPlugins(configs, log, timeoutMs)
  }

  /** Whether some plugin takes `op`. */
  has (op: PluginOp): boolean { return this.#plugins.some((p) => p.ops.has(op)) }

  /** Per plugin, for logs and status. */
  counters (): Record<string, PluginCounters> {
    return Object.fromEntries(this.#plugins.map((p) => [p.name, { ...p.counters }]))
  }

  /** The content after every plugin that takes `op`; throws TUN_PLUGIN_REJECTED / TUN_PLUGIN_UNAVAILABLE. */
  async #chain (op: PluginOp, content: Record<string, unknown>): Promise<{ content: Record<string, unknown>, changed: boolean }> {
    let current = content
    let changed = false
    for (const p of this.#plugins) {
      if (!p.ops.has(op)) continue
      const r = await p.call(op, current)
      if (r.changed) { current = r.content; changed = true }
    }
    return { content: current, changed }
  }

  /** Asks the Login plugins: what they changed (user, metas), or a TunnelError. */
  async login (login: Login, runId: string, clientAddress: string): Promise<{ user?: string, metas?: Record<string, string> }> {
    if (!this.has('Login')) return {}
    const r = await this.#chain('Login', loginContent(login, runId, clientAddress, nowSeconds()))
    return r.changed ? loginChanges(r.content) : {}
  }

  /**
   * Asks the NewProxy plugins; resolves with the spec to open (as changed: the caller checks it
   * against its type's schema), or throws.
   */
  async newProxy (u: PluginUser, spec: ProxySpec): Promise<Record<string, unknown>> {
    if (!this.has('NewProxy')) return spec
    const r = await this.#chain('NewProxy', newProxyContent(u, spec))
    if (!r.changed) return spec
    const { spec: next, changed } = specFromContent(spec, r.content)
    if (changed.length > 0) this.#log.info({ proxy: spec.name, changed }, 'a relay plugin changed the proxy')
    return next
  }

  /** Tells the CloseProxy plugins, without waiting; failures are logged (rate-limited). */
  closeProxy (u: PluginUser, name: string): void {
    if (!this.has('CloseProxy')) return
    this.#chain('CloseProxy', closeProxyContent(u, name)).catch((err: unknown) => { this.#warn('CloseProxy', err) })
  }

  /** Asks the Ping plugins: true = go on; false = a plugin rejected it (the session closes). Failures count as go on. */
  async ping (u: PluginUser): Promise<true | TunnelError> {
    if (!this.has('Ping')) return true
    try {
      await this.#chain('Ping', pingContent(u, nowSeconds()))
      return true
    } catch (err) {
      if (err instanceof TunnelError && err.code === 'TUN_PLUGIN_REJECTED') return err
      this.#warn('Ping', err)
      return true
    }
  }

  /** Whether the visitor may go on: NewUserConn, then NewWorkConn (fail closed; refusals logged rate-limited). */
  async admitVisitor (u: PluginUser, proxy: { name: string, type: string }, visitor: Endpoint): Promise<boolean> {
    try {
      if (this.has('NewUserConn')) await this.#chain('NewUserConn', newUserConnContent(u, proxy, visitor))
      if (this.has('NewWorkConn')) await this.#chain('NewWorkConn', newWorkConnContent(u, nowSeconds()))
      return true
    } catch (err) {
      this.#warn('NewUserConn', err, { proxy: proxy.name, remote: visitor.address })
      return false
    }
  }

  #warn (op: string, err: unknown, fields: Record<string, unknown> = {}): void {
    const code = err instanceof TunnelError ? err.code : 'TUN_PLUGIN_UNAVAILABLE'
    const message = err instanceof Error ? err.message : String(err)
    const suppressed = this.#limiter.allow(`${op}:${code}`)
    if (suppressed === undefined) return
    this.#log.warn({ op, code, suppressed, ...fields }, message)
  }

  close (): void {
    for (const p of this.#plugins) p.close()
  }
}
