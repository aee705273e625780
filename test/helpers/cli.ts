// Spawns the built CLI (dist/cli/main.js) for e2e tests: JSON log lines from stderr parsed into
// a buffer, waits on log lines (never on sleeps), RSS from /proc, and a registry so that every
// process this module started is killed by its PID when the test ends (cleanupCli()).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { parse as parseYaml } from 'yaml'

/** The built CLI; E2E_TUNNEL_CLI points the suite at another build (an installed package, a mutant). */
/** Set by test/tools/coverage.mjs: where spawned CLI processes write their V8 coverage. */
export const CHILD_COVERAGE_ENV = 'TEST_CHILD_V8_COVERAGE'
export const CLI_PATH = process.env.E2E_TUNNEL_CLI ?? fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))
export const TEST_TOKEN = 'e2e-test-token'
/**
 * How long a wait for a log line or a proxy result lasts before it fails: a hang guard, sized for
 * a machine whose cores are busy with other work (each spawned CLI then needs seconds to start).
 */
export const DEFAULT_WAIT_MS = 20_000
/** Per-test hang guard for e2e files (the same as vitest.config.ts's testTimeout); passing tests take far less. */
export const E2E_TEST_TIMEOUT_MS = 60_000
/** Lines kept per stream; far above what an e2e test logs at info level. */
export const MAX_BUFFERED_LINES = 100_000

export type LogLine = Record<string, unknown> & { msg?: string, level?: number }
export type LogPredicate = (line: LogLine) => boolean

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface CliHandle {
  readonly child: ChildProcess
  readonly pid: number
  readonly args: readonly string[]
  /** Parsed JSON lines from stderr, in order. */
  readonly logs: LogLine[]
  /** Every stderr line, JSON or not. */
  readonly stderrLines: string[]
  readonly exit: Promise<ExitInfo>
  readonly exited: boolean
  stdout: () => string
  stderr: () => string
  /**
   * Resolves with the first log line at index >= `from` that matches; rejects on timeout or
   * when the process exits first (the error shows the tail of stderr).
   */
  waitForLog: (predicate: LogPredicate, timeoutMs?: number, from?: number) => Promise<LogLine>
  /** Resolves with the first stdout match of `re`. */
  waitForStdout: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Resident set size in bytes (VmRSS from /proc/PID/status). */
  rss: () => number
  /** Sends a signal by PID; false when the process is already gone. */
  kill: (signal?: NodeJS.Signals) => boolean
}

const live = new Set<CliHandle>()
const tempDirs = new Set<string>()

export interface SpawnOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Run inside this network namespace (`ip netns exec` execs in place: the PID is node's). */
  netns?: string
  /**
   * Run with this fd limit (soft and hard): `bash -c 'ulimit -n N && exec …'`, so the PID is
   * still node's.
   */
  ulimitNofile?: number
  /** node's own options, before the CLI's path (e.g. V8's --trace-opt, which NODE_OPTIONS refuses). */
  nodeArgs?: readonly string[]
}

export function spawnCli (args: readonly string[], options: SpawnOptions = {}): CliHandle {
  const argv = [...options.nodeArgs ?? [], CLI_PATH, ...args]
  let [command, commandArgs]: [string, string[]] = options.netns === undefined
    ? [process.execPath, argv]
    : ['ip', ['netns', 'exec', options.netns, process.execPath, ...argv]]
  if (options.ulimitNofile !== undefined) {
    if (!Number.isSafeInteger(options.ulimitNofile) || options.ulimitNofile <= 0) throw new Error(`ulimitNofile must be a positive integer, got ${options.ulimitNofile}`)
    commandArgs = ['-c', `ulimit -n ${options.ulimitNofile} && exec "$@"`, 'tunnel-ulimit', command, ...commandArgs]
    command = 'bash'
  }
  const child = spawn(command, commandArgs, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...hermeticEnv(), NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not spawn ${CLI_PATH}`)
  const logs: LogLine[] = []
  const stderrLines: string[] = []
  let stdoutText = ''
  let stderrText = ''
  let exited = false
  const wakers = new Set<() => void>()
  const wake = (): void => { for (const w of [...wakers]) w() }

  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    if (stderrText.length < 16 * 1024 * 1024) stderrText += text
    const parts = (partial + text).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) addLine(line)
    wake()
  })
  const addLine = (line: string): void => {
    if (stderrLines.length >= MAX_BUFFERED_LINES) return
    stderrLines.push(line)
    if (!line.startsWith('{')) return
    try {
      const parsed: unknown = JSON.parse(line)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) logs.push(parsed as LogLine)
    } catch { /* not a log line */ }
  }
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => {
    if (stdoutText.length < 16 * 1024 * 1024) stdoutText += text
    wake()
  })

  const exit = new Promise<ExitInfo>((resolve) => {
    child.once('close', (code, signal) => {
      if (partial !== '') { addLine(partial); partial = '' }
      exited = true
      live.delete(handle)
      wake()
      resolve({ code, signal })
    })
  })

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); wakers.delete(onWake) }
      const onWake = (): void => {
        const found = check()
        if (found !== undefined) { done(); resolve(found); return }
        if (exited) {
          done()
          reject(new Error(`${what}: process ${pid} (${args.join(' ')}) exited first\n${tail(stderrText)}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${what}: not seen within ${timeoutMs} ms (pid ${pid}, ${args.join(' ')})\n${tail(stderrText)}`))
      }, timeoutMs)
      wakers.add(onWake)
      onWake()
    })
  }

  const handle: CliHandle = {
    child,
    pid,
    args,
    logs,
    stderrLines,
    exit,
    get exited () { return exited },
    stdout: () => stdoutText,
    stderr: () => stderrText,
    waitForLog: (predicate, timeoutMs = DEFAULT_WAIT_MS, from = 0) => waitFor(() => {
      for (let i = from; i < logs.length; i++) {
        const line = logs[i] as LogLine
        if (predicate(line)) return line
      }
      return undefined
    }, timeoutMs, 'log line'),
    waitForStdout: (re, timeoutMs = DEFAULT_WAIT_MS) => waitFor(() => stdoutText.match(re) ?? undefined, timeoutMs, `stdout ${String(re)}`),
    rss: () => readRss(pid),
    kill: (signal = 'SIGTERM') => {
      if (exited) return false
      try {
        process.kill(pid, signal)
        return true
      } catch {
        return false
      }
    },
  }
  live.add(handle)
  return handle
}

/**
 * The parent's environment without TUNNEL_* variables: the CLI reads those as options (yargs
 * .env('TUNNEL')), so a stray one in the test runner's environment would change every run.
 */
function hermeticEnv (): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TUNNEL_')))
  // `npm run coverage` sets this: spawned relays and clients write V8 coverage there on exit.
  const childCoverage = process.env[CHILD_COVERAGE_ENV]
  if (childCoverage !== undefined && childCoverage !== '') env.NODE_V8_COVERAGE = childCoverage
  // A client without auth.clientKeyFile creates its key in the state directory: a temp dir, not
  // the home of whoever runs the tests.
  delete env.STATE_DIRECTORY
  env.XDG_STATE_HOME = stateDir()
  // A client reads the environment's proxy (transport.proxyURL's default): tests name theirs.
  for (const name of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']) delete env[name]
  return env
}

let currentStateDir: string | undefined
function stateDir (): string {
  if (currentStateDir === undefined || !tempDirs.has(currentStateDir)) {
    currentStateDir = mkdtempSync(join(tmpdir(), 'tunnel-e2e-state-'))
    tempDirs.add(currentStateDir)
  }
  return currentStateDir
}

function tail (text: string, lines = 20): string {
  return text.split('\n').slice(-lines).join('\n')
}

/** VmRSS of a process, in bytes. */
export function readRss (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** Matches a log line by its msg and, optionally, some field values. */
export function logMsg (msg: string, fields: Record<string, unknown> = {}): LogPredicate {
  return (line) => line.msg === msg && Object.entries(fields).every(([k, v]) => line[k] === v)
}

/**
 * The process's exit, or 'timeout' when it is still running after `ms`, but never less than
 * DEFAULT_WAIT_MS: a hang guard, not a deadline (a full suite beside CPU loops and other suites,
 * load 20 on 2 cores, has taken more than 10 s to start a CLI and see it exit).
 */
export async function exitWithin (handle: CliHandle, ms: number): Promise<ExitInfo | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const limit = Math.max(ms, DEFAULT_WAIT_MS)
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, limit) })
  try {
    return await Promise.race([handle.exit, timeout])
  } finally {
    clearTimeout(timer)
  }
}

// ---- clean-up ----

/** Kills (SIGKILL, by PID) every process still running and removes temp dirs. For afterEach. */
export async function cleanupCli (): Promise<void> {
  const handles = [...live]
  if (process.env[CHILD_COVERAGE_ENV] !== undefined) await exitForCoverage(handles)
  for (const h of handles) h.kill('SIGKILL')
  await Promise.all(handles.map(async (h) => {
    await Promise.race([h.exit, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
  }))
  const dirs = [...tempDirs]
  tempDirs.clear()
  await Promise.all(dirs.map(async (d) => { await rm(d, { recursive: true, force: true }) }))
}

/**
 * Under `npm run coverage`: a process killed by SIGKILL writes no coverage, so ask twice with
 * SIGTERM first (the CLI exits at once on the second signal) and give it a moment.
 */
async function exitForCoverage (handles: readonly CliHandle[]): Promise<void> {
  for (const h of handles) h.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 50))
  for (const h of handles) h.kill('SIGTERM')
  await Promise.all(handles.map(async (h) => {
    await Promise.race([h.exit, new Promise((resolve) => setTimeout(resolve, 2_000).unref())])
  }))
}

// A last resort if a test run dies without its hooks: kill survivors by PID.
process.once('exit', () => {
  for (const h of live) {
    try { process.kill(h.pid, 'SIGKILL') } catch { /* already gone */ }
  }
})

// ---- config files ----

let currentDir: string | undefined

/** Writes `text` to `name` in a fresh mkdtemp directory (removed by cleanupCli()). */
export async function writeTempFile (name: string, text: string): Promise<string> {
  if (currentDir === undefined || !tempDirs.has(currentDir)) {
    currentDir = await mkdtemp(join(tmpdir(), 'tunnel-e2e-'))
    tempDirs.add(currentDir)
  }
  const path = join(currentDir, name)
  await writeFile(path, text, 'utf8')
  return path
}

let configSeq = 0

export interface RelayOptions {
  /** Extra frps.yml text appended after the generated keys. */
  extraYaml?: string
  bindPort?: number
  token?: string
  /** Reuse this config file instead of writing one. */
  configPath?: string
  /** Run the relay with this fd limit (ulimit -n). */
  ulimitNofile?: number
}

export interface RelayHandle {
  handle: CliHandle
  port: number
  configPath: string
}

export function relayYaml (options: { bindPort?: number, token?: string, extraYaml?: string } = {}): string {
  return [
    'bindAddr: 127.0.0.1',
    `bindPort: ${options.bindPort ?? 0}`,
    'auth:',
    `  token: ${JSON.stringify(options.token ?? TEST_TOKEN)}`,
    options.extraYaml ?? '',
  ].join('\n') + '\n'
}

/** Starts `tunnel server` and waits for "relay listening" to read its port. */
export async function startRelay (options: RelayOptions = {}): Promise<RelayHandle> {
  const configPath = options.configPath ?? await writeTempFile(`frps-${++configSeq}.yml`, relayYaml(options))
  const handle = spawnCli(['server', '-c', configPath, '--log-format', 'json'], options.ulimitNofile === undefined ? {} : { ulimitNofile: options.ulimitNofile })
  const line = await handle.waitForLog(logMsg('relay listening'))
  const port = line.port
  if (typeof port !== 'number') throw new Error(`relay listening without a port: ${JSON.stringify(line)}`)
  return { handle, port, configPath }
}

export interface ProxyYaml {
  name: string
  localPort: number
  remotePort: number
  localIP?: string
  /** Default tcp. */
  type?: 'tcp' | 'udp'
  /** More keys of the proxy (e.g. idleTimeout for udp). */
  extra?: Record<string, string | number>
}

export interface ClientYamlOptions {
  serverPort: number
  proxies: readonly ProxyYaml[]
  token?: string
  /** Extra frpc.yml text (top-level keys). */
  extraYaml?: string
}

export function clientYaml (options: ClientYamlOptions): string {
  const lines = [
    'serverAddr: 127.0.0.1',
    `serverPort: ${options.serverPort}`,
    'auth:',
    `  token: ${JSON.stringify(options.token ?? TEST_TOKEN)}`,
    options.extraYaml ?? '',
    'proxies:',
  ]
  for (const p of options.proxies) {
    lines.push(
      `  - name: ${JSON.stringify(p.name)}`,
      `    type: ${p.type ?? 'tcp'}`,
      `    localIP: ${p.localIP ?? '127.0.0.1'}`,
      `    localPort: ${p.localPort}`,
      `    remotePort: ${p.remotePort}`,
      ...Object.entries(p.extra ?? {}).map(([k, v]) => `    ${k}: ${v}`),
    )
  }
  return lines.join('\n') + '\n'
}

export interface ClientStartOptions {
  /**
   * 'proxies' (default): wait for login and one result line per proxy in the file;
   * 'login': wait for "logged in"; 'none': return right after spawning.
   */
  waitFor?: 'proxies' | 'login' | 'none'
  /** Reuse this config file (yaml is then ignored). */
  configPath?: string
  timeoutMs?: number
  /** Run the client with this fd limit (ulimit -n). */
  ulimitNofile?: number
}

export interface ClientHandle {
  handle: CliHandle
  configPath: string
  /** proxy name → remote port, for registered proxies. */
  ports: Map<string, number>
  /** proxy name → error code, for refused proxies. */
  refused: Map<string, string>
}

/** Starts `tunnel client` with `yaml` (written to a temp file) or an existing config file. */
export async function startClient (yaml: string, options: ClientStartOptions = {}): Promise<ClientHandle> {
  const configPath = options.configPath ?? await writeTempFile(`frpc-${++configSeq}.yml`, yaml)
  const handle = spawnCli(['client', '-c', configPath, '--log-format', 'json'], options.ulimitNofile === undefined ? {} : { ulimitNofile: options.ulimitNofile })
  const result: ClientHandle = { handle, configPath, ports: new Map(), refused: new Map() }
  const waitFor = options.waitFor ?? 'proxies'
  if (waitFor === 'none') return result
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS
  await handle.waitForLog(logMsg('logged in'), timeoutMs)
  if (waitFor === 'login') return result
  const text = options.configPath === undefined ? yaml : readFileSync(configPath, 'utf8')
  for (const name of proxyNames(text)) {
    const outcome = await waitForProxyResult(handle, name, 0, timeoutMs)
    if (outcome.ok) result.ports.set(name, outcome.remotePort)
    else result.refused.set(name, outcome.code)
  }
  return result
}

function proxyNames (yaml: string): string[] {
  const doc: unknown = parseYaml(yaml)
  if (doc === null || typeof doc !== 'object') return []
  const proxies = (doc as { proxies?: unknown }).proxies
  if (!Array.isArray(proxies)) return []
  return proxies.map((p: unknown) => String((p as { name?: unknown }).name))
}

export type ProxyOutcome = { ok: true, remotePort: number, line: LogLine } | { ok: false, code: string, line: LogLine }

/** Waits for "proxy registered" or a "proxy refused by the relay" line for `name`. */
export async function waitForProxyResult (handle: CliHandle, name: string, from = 0, timeoutMs = DEFAULT_WAIT_MS): Promise<ProxyOutcome> {
  const line = await handle.waitForLog((l) => l.proxy === name &&
    (l.msg === 'proxy registered' || (typeof l.msg === 'string' && l.msg.startsWith('proxy refused by the relay'))), timeoutMs, from)
  if (line.msg === 'proxy registered') {
    if (typeof line.remotePort !== 'number') throw new Error(`proxy registered without a port: ${JSON.stringify(line)}`)
    return { ok: true, remotePort: line.remotePort, line }
  }
  return { ok: false, code: String(line.code), line }
}

// ---- polling ----

export interface PollOptions {
  timeoutMs: number
  intervalMs?: number
  /** Upper bound on attempts, in addition to the time limit. */
  maxAttempts?: number
}

/**
 * Calls `attempt` until it returns a value other than undefined; bounded by time and count.
 * Rejects with the last error seen when the bound is reached.
 */
export async function pollUntil<T> (attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = performance.now() + options.timeoutMs
  const interval = options.intervalMs ?? 25
  const maxAttempts = options.maxAttempts ?? Math.ceil(options.timeoutMs / interval) + 10
  let last: unknown
  for (let i = 0; i < maxAttempts && performance.now() < deadline; i++) {
    try {
      const v = await attempt()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    const wait = Math.min(interval, deadline - performance.now())
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
  throw new Error(`condition not met within ${options.timeoutMs} ms${last === undefined ? '' : `: ${last instanceof Error ? last.message : inspect(last)}`}`, { cause: last })
}
