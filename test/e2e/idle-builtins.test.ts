// Issue 21 (idle memory): Node's own modules for HTTP, HTTP/2, TLS and child processes cost an
// idle process 2-3 MiB, and a relay and a client with plain TCP proxies need none of them. They
// are loaded where a config uses them (shared/lazy-builtins.ts: the admin API, vhosts, HTTP
// plugins, health checks, TLS transports, certificate checks, `ss` for diagnoses). This test reads
// process.moduleLoadList from the real CLI's processes after a visitor went through, so it fails
// when someone imports one of them eagerly again. It also counts the Intl.Segmenters made (the CLI
// bundle splits yargs' help text without one, cli/lazy-segmenter.ts: the first costs 2.5 MiB) and
// the functions made with `new Function` (zod's compiled parsers, off in the CLI by
// cli/zod-jitless.ts: building one after start-up made V8 load its optimizing compiler, 4 MiB).
import { existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { CHILD_COVERAGE_ENV, cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, relayYaml, spawnCli, waitForProxyResult, writeTempFile, type CliHandle } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

/** Waits this long at most for a process to write its module list. */
const DUMP_WAIT_MS = 10_000

/** Node's modules an idle plain-TCP client must not hold (the relay listens, so it holds child_process through node:cluster). */
const CLIENT_UNLOADED = ['http', 'https', 'http2', 'tls', '_tls_wrap', 'child_process', 'readline']
/** The same for the relay (no vhost ports, no admin API: its vhost code needs node:http only for a site's pages). */
const RELAY_UNLOADED = ['http', '_http_agent', '_http_server', 'https', 'http2', 'tls', '_tls_wrap', 'readline']

// Loaded before the CLI: counts the real Intl.Segmenters and the `new Function`s made and, on
// SIGUSR2, writes them and the process's list of loaded built-in modules.
const PRELOAD = [
  "import { writeFileSync } from 'node:fs'",
  'let segmenters = 0',
  'let functions = 0',
  'const Real = Intl.Segmenter',
  "Object.defineProperty(Intl, 'Segmenter', { value: class extends Real { constructor (...a) { super(...a); segmenters++ } }, writable: true, configurable: true })",
  'globalThis.Function = new Proxy(Function, { construct (target, args, newTarget) { functions++; return Reflect.construct(target, args, newTarget) } })',
  "process.on('SIGUSR2', () => { writeFileSync(process.env.IDLE_MODULES_FILE, JSON.stringify({ modules: process.moduleLoadList, segmenters, functions })) })",
].join('\n')

/** Under `npm run coverage` the CLI runs its separate modules, not the bundle. */
const BUNDLED = (process.env[CHILD_COVERAGE_ENV] ?? '') === ''

let seq = 0
async function spawnWatched (args: string[], preload: string): Promise<{ handle: CliHandle, file: string }> {
  const file = await writeTempFile(`modules-${++seq}.json`, '')
  const handle = spawnCli(args, { env: { NODE_OPTIONS: `--import ${preload}`, IDLE_MODULES_FILE: file } })
  return { handle, file }
}

/** The public built-in modules (`NativeModule http`, not `internal/...`) the process has loaded, and the Intl.Segmenters and `new Function`s it made. */
async function loadedBy (p: { handle: CliHandle, file: string }): Promise<{ builtins: Set<string>, segmenters: number, functions: number }> {
  p.handle.kill('SIGUSR2')
  // A half-written file does not parse: the poll tries again.
  const dump = await pollUntil(async () => {
    const t = existsSync(p.file) ? readFileSync(p.file, 'utf8') : ''
    return t === '' ? undefined : JSON.parse(t) as { modules: string[], segmenters: number, functions: number }
  }, { timeoutMs: DUMP_WAIT_MS })
  const builtins = new Set(dump.modules.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length)))
  return { builtins, segmenters: dump.segmenters, functions: dump.functions }
}

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('an idle relay and client with a plain tcp proxy', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('carry a visitor without loading node:http, http2, https, tls or (on the client) child_process, nor making an Intl.Segmenter or a function from source', async () => {
    const preload = await writeTempFile('dump-modules.mjs', PRELOAD)
    const echo = await startEchoServer()
    const relayConfig = await writeTempFile('frps-idle.yml', relayYaml())
    const relay = await spawnWatched(['server', '-c', relayConfig, '--log-format', 'json'], preload)
    const listening = await relay.handle.waitForLog(logMsg('relay listening'))
    const clientConfig = await writeTempFile('frpc-idle.yml', clientYaml({ serverPort: Number(listening.port), proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    const client = await spawnWatched(['client', '-c', clientConfig, '--log-format', 'json'], preload)
    const outcome = await waitForProxyResult(client.handle, 'echo')
    if (!outcome.ok) throw new Error(`the proxy was refused: ${outcome.code}`)
    expect(await echoOnce(outcome.remotePort)).toBe(true)

    const onClient = await loadedBy(client)
    const onRelay = await loadedBy(relay)
    // The list is Node's own: it names what the processes did load.
    expect(onClient.builtins.has('net')).toBe(true)
    expect(onClient.builtins.has('crypto')).toBe(true)
    expect(onRelay.builtins.has('net')).toBe(true)
    expect(CLIENT_UNLOADED.filter((m) => onClient.builtins.has(m))).toEqual([])
    expect(RELAY_UNLOADED.filter((m) => onRelay.builtins.has(m))).toEqual([])
    if (BUNDLED) expect([onRelay.segmenters, onClient.segmenters]).toEqual([0, 0])
    // pino's worker threads (for transports the CLI never starts) get a stand-in in the bundle.
    if (BUNDLED) expect([onRelay.builtins.has('worker_threads'), onClient.builtins.has('worker_threads')]).toEqual([false, false])
    expect([onRelay.functions, onClient.functions]).toEqual([0, 0])
  })
})
