// Child processes of a benchmark run: spawned, tracked by PID, their output read line by line,
// and every one of them killed by PID when the run ends, fails or is interrupted.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'

/** Lines kept from a child's output for error messages. */
const TAIL_LINES = 40

export interface ChildEvents {
  line: [source: 'stdout' | 'stderr', text: string]
}

export class Child extends EventEmitter<ChildEvents> {
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Resolves once the process has exited and its output pipes are closed (every line emitted). */
  readonly closed: Promise<void>
  readonly tail: string[] = []
  exitStatus: number | string | undefined

  constructor (name: string, proc: ChildProcess) {
    super()
    if (proc.pid === undefined) throw new Error(`${name}: spawn failed (no pid)`)
    this.name = name
    this.pid = proc.pid
    this.process = proc
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitStatus = code ?? signal ?? 'unknown'
        resolve(this.exitStatus)
      })
    })
    this.closed = new Promise((resolve) => { proc.once('close', () => { resolve() }) })
    for (const source of ['stdout', 'stderr'] as const) {
      const stream = proc[source]
      if (stream === null) continue
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => {
        this.tail.push(`${source}: ${text}`)
        if (this.tail.length > TAIL_LINES) this.tail.shift()
        this.emit('line', source, text)
      })
    }
  }

  get running (): boolean { return this.exitStatus === undefined }

  describeTail (): string {
    return this.tail.length === 0 ? '(no output)' : this.tail.join('\n')
  }

  /**
   * Waits for an output line for which `match` returns a value, failing after `timeoutMs` or
   * when the process exits first. Lines that are not JSON are given to `match` as `undefined`.
   */
  async waitFor<T> (match: (json: Record<string, unknown> | undefined, text: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('line', onLine)
        this.process.off('exit', onExit)
      }
      const onLine = (_source: string, text: string): void => {
        const found = match(parseJsonLine(text), text)
        if (found === undefined) return
        cleanup()
        resolve(found)
      }
      const onExit = (): void => {
        cleanup()
        reject(new Error(`${this.name} (pid ${this.pid}) exited (${String(this.exitStatus)}) while waiting for ${what}:\n${this.describeTail()}`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`${this.name} (pid ${this.pid}): no ${what} within ${timeoutMs} ms:\n${this.describeTail()}`))
      }, timeoutMs)
      this.on('line', onLine)
      this.process.once('exit', onExit)
      if (!this.running) onExit()
    })
  }
}

export function parseJsonLine (text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

export interface SpawnOptions {
  /** Keep stdin as a pipe: the child can treat its end as "the bench is gone". */
  stdinPipe?: boolean
  /** Variables added to (or replacing) this process's environment. */
  env?: NodeJS.ProcessEnv
}

/** Every process this benchmark started, so that all of them can be killed by PID. */
export class ProcessGroup {
  readonly #children = new Map<number, Child>()

  spawn (name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Child {
    const proc = spawn(command, args, {
      stdio: [options.stdinPipe === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.env === undefined ? process.env : { ...process.env, ...options.env },
    })
    const child = new Child(name, proc)
    this.#children.set(child.pid, child)
    void child.exited.then(() => { this.#children.delete(child.pid) }) // exited never rejects
    proc.on('error', () => { /* reported through 'exit' or the spawn check above */ })
    return child
  }

  get pids (): number[] { return [...this.#children.keys()] }

  /** Synchronous SIGKILL of every live child, by PID: for signal and exit handlers. */
  killAllNow (): void {
    for (const pid of this.#children.keys()) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
  }

  /** SIGTERM to one child; SIGKILL if it has not exited after `graceMs`. */
  async stop (child: Child, graceMs: number): Promise<void> {
    if (!child.running) return
    try { process.kill(child.pid, 'SIGTERM') } catch { /* already gone */ }
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, graceMs) })
    const outcome = await Promise.race([child.exited, timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout' && child.running) {
      try { process.kill(child.pid, 'SIGKILL') } catch { /* already gone */ }
      await child.exited
    }
  }

  /** Stops every child (SIGTERM, then SIGKILL after `graceMs`). */
  async stopAll (graceMs: number): Promise<void> {
    await Promise.all([...this.#children.values()].map(async (c) => { await this.stop(c, graceMs) }))
  }
}
