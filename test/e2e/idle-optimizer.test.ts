// Issue 21 (idle memory): the first function V8's optimizing compiler (TurboFan) optimizes pulls
// the compiler's code, about 4 MiB of the node binary, into the process for good. An idle relay or
// client has nothing hot to run, so what got optimized while one started was start-up work done
// over and over: yargs laying out the running command's help text (string-width's functions;
// cli/help-cache.ts stops it), node's ES module loader turning URLs into paths for every import
// between the bundle's many chunks (getPathFromURLPosix; tools/bundle-cli.mjs now bundles the
// relay and the client apart), and zod's schema construction (the config's and the control
// messages' 1,700-odd schemas: cli/v8-tuning.ts starts the relay and the client with a larger
// interrupt budget). This runs the real CLI with V8's --trace-opt, carries one visitor, and reads
// which functions V8 optimized: none. It counts the trace's lines; it does not time anything.
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { CHILD_COVERAGE_ENV, cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, relayYaml, spawnCli, waitForProxyResult, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

/** Under `npm run coverage` the CLI runs its separate modules, not the bundle (and the loader's work differs). */
const BUNDLED = (process.env[CHILD_COVERAGE_ENV] ?? '') === ''

/** The names of the functions V8's trace says it finished optimizing, from a process's stdout. */
function optimizedIn (stdout: string): string[] {
  const names: string[] = []
  for (const line of stdout.split('\n')) {
    const m = /^\[completed optimizing 0x[0-9a-f]+ <JSFunction ([^ >]*)/.exec(line)
    if (m !== null) names.push(m[1] === '(sfi' ? '(anonymous)' : m[1] ?? '')
  }
  return names
}

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe.skipIf(!BUNDLED)('an idle relay and client', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('start, register a proxy and carry a visitor without V8 optimizing any function', async () => {
    const echo = await startEchoServer()
    const relayConfig = await writeTempFile('frps-trace-opt.yml', relayYaml())
    const relay = spawnCli(['server', '-c', relayConfig, '--log-format', 'json'], { nodeArgs: ['--trace-opt'] })
    const listening = await relay.waitForLog(logMsg('relay listening'))
    const clientConfig = await writeTempFile('frpc-trace-opt.yml', clientYaml({ serverPort: Number(listening.port), proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    const client = spawnCli(['client', '-c', clientConfig, '--log-format', 'json'], { nodeArgs: ['--trace-opt'] })
    const outcome = await waitForProxyResult(client, 'echo')
    if (!outcome.ok) throw new Error(`the proxy was refused: ${outcome.code}`)
    expect(await echoOnce(outcome.remotePort)).toBe(true)

    const byRelay = optimizedIn(relay.stdout())
    const byClient = optimizedIn(client.stdout())
    // Both run with the trace on.
    for (const p of [relay, client]) expect(readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')).toContain('--trace-opt')
    expect(byRelay).toEqual([])
    expect(byClient).toEqual([])
  })
})
