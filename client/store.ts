// The client's side of frp's Store API (store.path): the JSON file of proxies and visitors that
// /api/store/* changes. A change is written to the file (atomically, mode 600; its folder is made
// when missing, as frp does) and applied by the
// same reload as SIGHUP, which reads the store with the config; when the reload refuses it (the
// entry does not verify: its errors name the store file's line:col), the previous file is put
// back, so the file and the running client never disagree. One change at a time.
import { mkdir, readFile, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { parse as parseYaml } from 'yaml'
import type { ProxyStoreApi, ReloadOutcome, StoreChange, StoreEntry, StoreKind } from '../shared/admin/index.js'
import type { ClientConfig } from '../shared/config/index.js'
import { TunnelError } from '../shared/errors.js'
import { writeAtomically } from './config-editor.js'

export interface ProxyStoreOptions {
  /** store.path, resolved. */
  file: string
  /** The running config: names it has that the store does not are the config file's. */
  running: () => ClientConfig
  /** The reload SIGHUP runs: reads the config file and the store, and applies them. */
  reload: () => Promise<ReloadOutcome>
  log: Logger
}

interface StoreData {
  proxies: StoreEntry[]
  visitors: StoreEntry[]
}

const WHAT: Record<StoreKind, string> = { proxies: 'proxy', visitors: 'visitor' }

export class ProxyStore implements ProxyStoreApi {
  readonly #o: ProxyStoreOptions
  #queue: Promise<unknown> = Promise.resolve()

  constructor (options: ProxyStoreOptions) {
    this.#o = options
  }

  async list (kind: StoreKind): Promise<StoreEntry[]> {
    return (await this.#read()).data[kind]
  }

  async get (kind: StoreKind, name: string): Promise<StoreEntry | undefined> {
    return (await this.#read()).data[kind].find((e) => e.name === name)
  }

  create (kind: StoreKind, entry: StoreEntry): Promise<StoreChange> {
    return this.#change(kind, entry.name, (list) => {
      if (list.some((e) => e.name === entry.name)) return this.#conflict(kind, entry.name, 'is already in the store: change it with PUT')
      const inFile = this.#configNames(kind, list).has(entry.name)
      if (inFile) return this.#conflict(kind, entry.name, `is defined in ${this.#o.running().source}: the store cannot define it again`)
      return { list: [...list, entry], entry }
    })
  }

  update (kind: StoreKind, name: string, entry: StoreEntry): Promise<StoreChange> {
    return this.#change(kind, name, (list) => {
      const i = list.findIndex((e) => e.name === name)
      if (i === -1) return this.#notFound(kind, name)
      return { list: list.map((e, j) => (j === i ? entry : e)), entry }
    })
  }

  remove (kind: StoreKind, name: string): Promise<StoreChange> {
    return this.#change(kind, name, (list) => {
      if (!list.some((e) => e.name === name)) return this.#notFound(kind, name)
      return { list: list.filter((e) => e.name !== name), entry: null }
    })
  }

  /** Names of this kind in the running config that did not come from the store. */
  #configNames (kind: StoreKind, stored: readonly StoreEntry[]): Set<string> {
    const config = this.#o.running()
    const names = kind === 'proxies' ? config.proxies.map((p) => p.name) : config.visitors.map((v) => v.name)
    const fromStore = new Set(stored.map((e) => e.name))
    return new Set(names.filter((n) => !fromStore.has(n)))
  }

  #conflict (kind: StoreKind, name: string, why: string): StoreChange {
    return { ok: false, status: 409, code: 'TUN_STORE_CONFLICT', message: `${WHAT[kind]} ${JSON.stringify(name)} ${why}` }
  }

  #notFound (kind: StoreKind, name: string): StoreChange {
    return { ok: false, status: 404, code: 'TUN_STORE_NOT_FOUND', message: `the store has no ${WHAT[kind]} ${JSON.stringify(name)}` }
  }

  #change (kind: StoreKind, name: string, edit: (list: StoreEntry[]) => { list: StoreEntry[], entry: StoreEntry | null } | StoreChange): Promise<StoreChange> {
    const run = this.#queue.then(async () => await this.#apply(kind, name, edit))
    this.#queue = run.catch(() => {})
    return run
  }

  async #apply (kind: StoreKind, name: string, edit: (list: StoreEntry[]) => { list: StoreEntry[], entry: StoreEntry | null } | StoreChange): Promise<StoreChange> {
    const { file, log } = this.#o
    const before = await this.#read()
    const next = edit(before.data[kind])
    if ('ok' in next) return next
    const text = JSON.stringify({ ...before.data, [kind]: next.list }, null, 2) + '\n'
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      await writeAtomically(file, text)
    } catch (err) {
      const message = `cannot write the store file ${file}: ${err instanceof Error ? err.message : String(err)}; nothing changed`
      log.error({ code: 'TUN_CONFIG_WRITE', file }, message)
      return { ok: false, status: 500, code: 'TUN_CONFIG_WRITE', message }
    }
    log.info({ file, [WHAT[kind]]: name }, 'store changed from the admin API; reloading')
    const outcome = await this.#o.reload()
    if (outcome.status !== 'refused') return { ok: true, entry: next.entry, outcome }
    // Put the previous store back so that the file matches what runs.
    if (before.text === undefined) await rm(file, { force: true })
    else await writeAtomically(file, before.text)
    log.warn({ file, [WHAT[kind]]: name }, 'the reload refused the store change: the previous store is back')
    const why = outcome.errors.map((e) => e.message).join('; ')
    return { ok: false, status: 400, code: 'TUN_STORE_INVALID', message: `the ${WHAT[kind]} ${JSON.stringify(name)} was not applied: ${why}`, outcome }
  }

  /** The store file's entries (empty when it does not exist yet) and its text. */
  async #read (): Promise<{ data: StoreData, text?: string }> {
    let text: string
    try {
      text = await readFile(this.#o.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: { proxies: [], visitors: [] } }
      throw new TunnelError('TUN_CONFIG_READ', `cannot read the store file ${this.#o.file}: ${(err as Error).message}`, { cause: err })
    }
    let doc: unknown
    try {
      doc = text.trim() === '' ? {} : parseYaml(text)
    } catch (err) {
      throw new TunnelError('TUN_CONFIG_READ', `the store file ${this.#o.file} is not JSON: ${(err as Error).message}`, { cause: err })
    }
    const record = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc as Record<string, unknown> : {}
    return { data: { proxies: entriesOf(record.proxies), visitors: entriesOf(record.visitors) }, text }
  }
}

function entriesOf (list: unknown): StoreEntry[] {
  if (!Array.isArray(list)) return []
  // Every object is kept, even one the loader refuses, so that a change never drops what the file had.
  return list.filter((e): e is StoreEntry => e !== null && typeof e === 'object' && !Array.isArray(e))
}
