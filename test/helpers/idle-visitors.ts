// Thousands of idle visitor connections held by a process of their own (issue 21), so the test
// process needs no fds for them: `node -e SCRIPT` under a raised fd limit (bash `ulimit -n`, as
// spawnCli does), killed by PID when the test ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

const children = new Set<ChildProcess>()

/** Kills every visitor process still running (afterEach). */
export function stopIdleVisitors (): void {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
}

/** Whether this machine lets a process raise its soft fd limit to `n` (the hard limit allows it, or root may). */
export function fdLimitAllowed (n: number): boolean {
  const r = spawnSync('bash', ['-c', `ulimit -n ${n} && echo ok`], { encoding: 'utf8' })
  return r.status === 0 && r.stdout.trim() === 'ok'
}

/** The hard fd limit of this process's children (`ulimit -Hn`), for the skip message. */
export function hardFdLimit (): string {
  return spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()
}

/**
 * `node - HOST PORT COUNT PER_SOURCE BATCH TIMEOUT_MS`: opens COUNT connections to HOST:PORT, from
 * 127.0.0.2, 127.0.0.3, ... with PER_SOURCE each, BATCH at a time; each sends one byte and counts
 * once it comes back. Prints {"held":H,"failed":F} when every connection is settled, then keeps
 * them open until stdin closes (or it is killed). Every connect and echo is bounded by TIMEOUT_MS.
 */
// A module of its own (run with node -e): it needs its own imports.
const SCRIPT = `
import { connect } from 'node:net'
const [host, port, count, perSource, batch, timeoutMs] = process.argv.slice(-6).map((v, i) => i === 0 ? v : Number(v))
const source = (n) => '127.0.' + Math.floor(n / 250) + '.' + (2 + (n % 250))
const sockets = []
let failed = 0
const one = (i) => new Promise((resolve) => {
  const s = connect({ host, port, localAddress: source(Math.floor(i / perSource)) })
  let done = false
  const settle = (ok) => { if (done) return; done = true; clearTimeout(timer); if (ok) sockets.push(s); else { failed++; s.destroy() } resolve() }
  const timer = setTimeout(() => settle(false), timeoutMs)
  s.once('connect', () => { s.write('x') })
  s.once('data', () => settle(true))
  s.on('error', () => settle(false))
  s.on('close', () => settle(false))
})
for (let i = 0; i < count; i += batch) {
  const round = []
  for (let j = i; j < Math.min(count, i + batch); j++) round.push(one(j))
  await Promise.all(round)
}
process.stdout.write(JSON.stringify({ held: sockets.filter((s) => !s.destroyed).length, failed }) + '\\n')
process.stdin.resume()
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); process.exit(0) })
`

export interface IdleVisitors {
  pid: number
  /** Resolves with the counts once every connection is settled; rejects if the process exits first or after `timeoutMs`. */
  settled: (timeoutMs: number) => Promise<{ held: number, failed: number }>
  /** Closes every connection (the process exits). */
  release: () => Promise<void>
}

export interface IdleVisitorOptions {
  host: string
  port: number
  count: number
  /** Connections per loopback source address. */
  perSource: number
  /** Connects in flight at once. */
  batch: number
  /** Bound of each connect and echo. */
  eachTimeoutMs: number
  /** The process's fd limit (ulimit -n). */
  ulimitNofile: number
}

export function startIdleVisitors (o: IdleVisitorOptions): IdleVisitors {
  const args = [o.host, o.port, o.count, o.perSource, o.batch, o.eachTimeoutMs].map(String)
  const child = spawn('bash', ['-c', `ulimit -n ${o.ulimitNofile} && exec "$@"`, 'idle-visitors', process.execPath, '--input-type=module', '-e', SCRIPT, '--', ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  if (child.pid === undefined) throw new Error('could not spawn the idle visitors')
  children.add(child)
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { children.delete(child); resolve() }) })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => { out += t })
  return {
    pid: child.pid,
    settled: async (timeoutMs) => await new Promise((resolve, reject) => {
      const check = (): void => {
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line === undefined) return
        finish()
        resolve(JSON.parse(line) as { held: number, failed: number })
      }
      const onExit = (): void => { finish(); reject(new Error(`the idle visitors exited first (${out.trim()})`)) }
      const timer = setTimeout(() => { finish(); reject(new Error(`the idle visitors did not settle within ${timeoutMs} ms`)) }, timeoutMs)
      const finish = (): void => { clearTimeout(timer); child.stdout.off('data', check); child.off('exit', onExit) }
      child.stdout.on('data', check)
      child.once('exit', onExit)
      check()
    }),
    release: async () => {
      child.stdin.end()
      await exited
    },
  }
}
