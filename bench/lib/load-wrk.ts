// Optional HTTP load with wrk (when installed): the peers' numbers in shared research were taken
// with `wrk -t2 -c50`, so this row compares with them most directly.
import { spawnSync } from 'node:child_process'
import type { ProcessGroup } from './procs.js'

const EXTRA_TIMEOUT_MS = 15_000

/** wrk's version line, or undefined when wrk is not on PATH. */
export function wrkVersion (): string | undefined {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8', timeout: 5_000 })
  if (r.error !== undefined) return undefined
  const line = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim()
  return line === undefined || line === '' ? 'wrk' : line.replace(/\s*Copyright.*$/, '')
}

export interface WrkLimits {
  connections: number
  threads: number
  seconds: number
  /** Extra request headers, `Name: value` (wrk -H): a Host for the vhost, `Connection: close`. */
  headers?: readonly string[]
}

export interface WrkResult {
  requests: number
  seconds: number
  requestsPerSecond: number
  /** wrk's "Socket errors:" line, when it printed one (connect/read/write errors, timeouts). */
  socketErrors?: string
}

export async function wrk (group: ProcessGroup, host: string, port: number, limits: WrkLimits): Promise<WrkResult> {
  const seconds = Math.max(1, Math.round(limits.seconds))
  const headers = (limits.headers ?? []).flatMap((h) => ['-H', h])
  const child = group.spawn('wrk', 'wrk', [`-t${limits.threads}`, `-c${limits.connections}`, `-d${seconds}s`, ...headers, `http://${host}:${port}/`])
  let out = ''
  child.on('line', (_source, text) => { out += `${text}\n` })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, seconds * 1000 + EXTRA_TIMEOUT_MS) })
  const status = await Promise.race([child.exited, timeout])
  clearTimeout(timer)
  if (status === 'timeout') {
    await group.stop(child, 1_000)
    throw new Error(`wrk did not finish within ${seconds}s + ${EXTRA_TIMEOUT_MS} ms`)
  }
  await child.closed
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out)
  if (status !== 0 || rate?.[1] === undefined) throw new Error(`wrk failed (${String(status)}):\n${out}`)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  if (non2xx !== null) throw new Error(`wrk: ${non2xx[0]}`)
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1]
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[total?.[3] ?? 's'] ?? 1
  return {
    requests: Number(total?.[1] ?? NaN),
    seconds: Number(total?.[2] ?? seconds) * unit,
    requestsPerSecond: Number(rate[1]),
    ...(socketErrors === undefined ? {} : { socketErrors }),
  }
}
