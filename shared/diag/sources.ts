// Readers of the kernel facts: `ss` spawned without a shell and with a time limit, /proc and
// /proc/sys files. Each returns a Source: the value, or why it could not be had (no ss, not
// Linux, no permission), so the report can say so instead of failing.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ErrorCode } from '../errors.js'

export type Source<T> =
  | { ok: true, value: T }
  | { ok: false, code: Extract<ErrorCode, 'TUN_DIAG_SOURCE' | 'TUN_DIAG_PARSE'>, reason: string }

export interface SourceOptions {
  /** The ss binary (looked up in PATH). Default 'ss'. */
  ssPath?: string
  /** Per ss call. Default SS_TIMEOUT_MS. */
  ssTimeoutMs?: number
  /** Where /proc is (tests point it at a fixture tree). Default '/proc'. */
  procRoot?: string
  /** Default process.platform. */
  platform?: NodeJS.Platform
}

export const SS_TIMEOUT_MS = 5_000
/** ss output kept at most; a relay with 100k sockets and -i prints about 70 MB. */
export const SS_MAX_OUTPUT_BYTES = 64 * 1024 * 1024

export const unavailable = (reason: string, code: 'TUN_DIAG_SOURCE' | 'TUN_DIAG_PARSE' = 'TUN_DIAG_SOURCE'): Source<never> => ({ ok: false, code, reason })

/** Why kernel facts cannot be read on this platform, or undefined on Linux. */
export function platformProblem (options: SourceOptions = {}): string | undefined {
  const platform = options.platform ?? process.platform
  return platform === 'linux' ? undefined : `not Linux (${platform}): the kernel facts come from ss and /proc`
}

/** Runs `ss ARGS` and returns its stdout. */
export async function runSs (args: readonly string[], options: SourceOptions = {}): Promise<Source<string>> {
  const problem = platformProblem(options)
  if (problem !== undefined) return unavailable(problem)
  const ss = options.ssPath ?? 'ss'
  const timeout = options.ssTimeoutMs ?? SS_TIMEOUT_MS
  // node:child_process loads with the first diagnosis, not with every relay and client that
  // imports this folder's parsers (issue 21, idle memory).
  const { execFile } = await import('node:child_process')
  return await new Promise((resolve) => {
    execFile(ss, args, { encoding: 'utf8', timeout, killSignal: 'SIGKILL', maxBuffer: SS_MAX_OUTPUT_BYTES, windowsHide: true }, (err, stdout, stderr) => {
      if (err === null) { resolve({ ok: true, value: stdout }); return }
      const e = err as NodeJS.ErrnoException & { killed?: boolean, code?: string | number }
      if (e.code === 'ENOENT') resolve(unavailable(`${ss} not found (install iproute2)`))
      else if (e.code === 'EACCES') resolve(unavailable(`${ss} cannot be run: permission denied`))
      else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') resolve(unavailable(`${ss} printed more than ${SS_MAX_OUTPUT_BYTES} bytes`))
      else if (e.killed === true) resolve(unavailable(`${ss} did not finish within ${timeout} ms`))
      else resolve(unavailable(`${ss} ${args.join(' ')} failed: ${firstLine(stderr) || e.message}`))
    })
  })
}

/** `ss -V` → 'iproute2-6.1.0', or null. */
export async function ssVersion (options: SourceOptions = {}): Promise<string | null> {
  const r = await runSs(['-V'], options)
  if (!r.ok) return null
  return /(iproute2[-\w.]*)/.exec(r.value)?.[1] ?? (firstLine(r.value) || null)
}

/** A file under /proc (`net/netstat`, `sys/net/core/somaxconn`, `123/limits`). */
export async function readProc (relative: string, options: SourceOptions = {}): Promise<Source<string>> {
  const problem = platformProblem(options)
  if (problem !== undefined) return unavailable(problem)
  const path = join(options.procRoot ?? '/proc', relative)
  try {
    return { ok: true, value: await readFile(path, 'utf8') }
  } catch (err) {
    return unavailable(fsReason(path, err))
  }
}

/** How many fds a process has open (entries of /proc/PID/fd). */
export async function readFdCount (pid: number | 'self', options: SourceOptions = {}): Promise<Source<number>> {
  const problem = platformProblem(options)
  if (problem !== undefined) return unavailable(problem)
  const path = join(options.procRoot ?? '/proc', String(pid), 'fd')
  try {
    return { ok: true, value: (await readdir(path)).length }
  } catch (err) {
    return unavailable(fsReason(path, err))
  }
}

function fsReason (path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return `${path} does not exist`
  if (code === 'EACCES' || code === 'EPERM') return `no permission to read ${path} (run as the process's user or root)`
  return `${path}: ${(err as Error).message}`
}

function firstLine (text: string): string {
  return text.trim().split('\n')[0] ?? ''
}
