// The client's visitors (frp's `visitors:`): one entry per configured visitor with its listener,
// its phase, and the opener they share. Listeners open when the client starts, before it is
// connected (a local application that comes early is refused, counted as `offline`), and stay
// open across reconnects. A reload adds, removes and restarts visitors by name, leaving the
// others and their open visits alone. Phases: pending (listening; not connected to a relay that
// accepts visitors yet), running, refused (cannot listen, or the relay lacks the visit
// capability: with the problem), closed (a reload removed it).
import type { Logger } from 'pino'
import type { VisitorConfig } from '../../shared/config/index.js'
import { errorCode, type ErrorCode } from '../../shared/errors.js'
import type { ClientSession } from '../../shared/mux/index.js'
import type { ReloadError } from '../../shared/reload-outcome.js'
import { sameSettings } from '../proxy/index.js'
import { BUILTIN_VISITOR_KINDS } from './kinds.js'
import { VisitOpener } from './visit-opener.js'
import type { Visitor, VisitorKind } from './visitor.js'

export type VisitorPhase = 'pending' | 'running' | 'refused' | 'closed'

export interface VisitorProblem {
  code: ErrorCode
  message: string
}

export class VisitorEntry {
  readonly config: VisitorConfig
  readonly visitor: Visitor
  readonly #opener: VisitOpener
  /** Why it cannot listen; null once it does. */
  #listenProblem: VisitorProblem | null = null
  #closed = false

  constructor (config: VisitorConfig, visitor: Visitor, opener: VisitOpener) {
    this.config = config
    this.visitor = visitor
    this.#opener = opener
  }

  get phase (): VisitorPhase {
    if (this.#closed) return 'closed'
    if (this.#listenProblem !== null || this.#opener.unsupported === true) return 'refused'
    return this.#opener.ready ? 'running' : 'pending'
  }

  get problem (): VisitorProblem | null {
    if (this.#closed) return null
    if (this.#listenProblem !== null) return this.#listenProblem
    if (this.#opener.unsupported === true) return { code: 'TUN_VISIT_UNAVAILABLE', message: 'the relay does not accept visitors (it lacks the visit capability): upgrade it' }
    return null
  }

  cannotListen (problem: VisitorProblem): void { this.#listenProblem = problem }

  close (): void {
    this.#closed = true
    this.visitor.close()
  }
}

export interface VisitorReload {
  added: string[]
  removed: string[]
  changed: string[]
  errors: ReloadError[]
}

export class VisitorManager {
  readonly opener: VisitOpener
  readonly #log: Logger
  readonly #user: string
  readonly #kinds: ReadonlyMap<string, VisitorKind>
  /** By name, in config order. */
  readonly #entries = new Map<string, VisitorEntry>()
  #configs: readonly VisitorConfig[]

  constructor (visitors: readonly VisitorConfig[], user: string, log: Logger, kinds: readonly VisitorKind[] = BUILTIN_VISITOR_KINDS, now?: () => number) {
    this.#log = log
    this.#user = user
    this.#kinds = new Map(kinds.map((k) => [k.type, k]))
    this.#configs = visitors
    this.opener = new VisitOpener(user, now)
  }

  get configs (): readonly VisitorConfig[] { return this.#configs }

  entries (): VisitorEntry[] { return [...this.#entries.values()] }

  /** Opens every visitor's listener; one that cannot is logged and marked refused, the others go on. */
  async start (): Promise<void> {
    await Promise.all(this.#configs.map(async (c) => await this.#startOne(c)))
  }

  /** After a login: visits go on `session` (when the relay accepts them). */
  attach (session: ClientSession, capabilities: ReadonlySet<string>): void {
    this.opener.attach(session, capabilities)
    if (this.#entries.size > 0 && this.opener.unsupported === true) {
      this.#log.error({ code: 'TUN_VISIT_UNAVAILABLE', visitors: [...this.#entries.keys()] }, 'the relay does not accept visitors (it lacks the visit capability): the visitors refuse every local connection; upgrade the relay')
    }
  }

  /** Applies a new visitor list: added ones listen, removed ones close, changed ones restart. */
  async reload (next: readonly VisitorConfig[]): Promise<VisitorReload> {
    const before = new Map(this.#configs.map((c) => [c.name, c]))
    const names = new Set(next.map((c) => c.name))
    const out: VisitorReload = { added: [], removed: [], changed: [], errors: [] }
    for (const c of this.#configs) {
      if (names.has(c.name)) continue
      this.#stopOne(c.name)
      out.removed.push(c.name)
    }
    const starting: VisitorConfig[] = []
    for (const c of next) {
      const prev = before.get(c.name)
      if (prev !== undefined && sameSettings(prev, c)) continue
      if (prev === undefined) out.added.push(c.name)
      else {
        this.#stopOne(c.name)
        out.changed.push(c.name)
      }
      starting.push(c)
    }
    this.#configs = next
    const problems = await Promise.all(starting.map(async (c) => await this.#startOne(c)))
    for (const [i, p] of problems.entries()) {
      const c = starting[i]
      if (p !== undefined && c !== undefined) out.errors.push({ proxy: null, visitor: c.name, code: p.code, message: p.message })
    }
    // Config order for the entries, whatever order they started in.
    const entries = new Map(this.#entries)
    this.#entries.clear()
    for (const c of next) {
      const e = entries.get(c.name)
      if (e !== undefined) this.#entries.set(c.name, e)
    }
    return out
  }

  /** Closes every visitor (the client stops). */
  stop (): void {
    for (const e of this.#entries.values()) e.close()
  }

  async #startOne (c: VisitorConfig): Promise<VisitorProblem | undefined> {
    const kind = this.#kinds.get(c.type)
    const log = this.#log.child({ visitor: c.name })
    if (kind === undefined) {
      // The config schema knows the same types; a kind missing here is a build without it.
      log.error({ code: 'TUN_VISIT_UNAVAILABLE', type: c.type }, `visitor type ${c.type} is not built in`)
      return { code: 'TUN_VISIT_UNAVAILABLE', message: `visitor type ${c.type} is not built in` }
    }
    const visitor = kind.create(c, { opener: this.opener, log, user: this.#user })
    const entry = new VisitorEntry(c, visitor, this.opener)
    this.#entries.set(c.name, entry)
    try {
      await visitor.start()
    } catch (err) {
      const problem = { code: errorCode(err, 'TUN_LISTEN'), message: err instanceof Error ? err.message : String(err) }
      entry.cannotListen(problem)
      log.error({ code: problem.code, bindAddr: c.bindAddr, bindPort: c.bindPort }, `visitor cannot listen: ${problem.message}`)
      return problem
    }
    log.info({ type: c.type, target: visitor.target, local: visitor.local ?? 'none' }, 'visitor listening')
    return undefined
  }

  #stopOne (name: string): void {
    const e = this.#entries.get(name)
    if (e === undefined) return
    this.#entries.delete(name)
    e.close()
    this.#log.info({ visitor: name }, 'visitor closed')
  }
}
