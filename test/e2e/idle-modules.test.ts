// Issue 21 (idle memory): what a relay or a client holds when idle is mostly the code it loaded.
// The libraries of features a config does not name (the fleet's etcd client with gRPC, xtcp's
// udx-native, the static_file plugin's send and its media-type table, ws for WebSocket
// transports) load when first used, not with the relay's and the client's code.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { E2E_TEST_TIMEOUT_MS } from '../helpers/cli.js'

const run = promisify(execFile)
const dist = (rel: string): string => fileURLToPath(new URL(`../../dist/${rel}`, import.meta.url))

/** The npm packages in the CommonJS cache of a fresh node that imported the given built modules. */
async function packagesLoadedBy (modules: readonly string[]): Promise<Set<string>> {
  const script = [
    "import Module from 'node:module'",
    ...modules.map((m) => `await import(${JSON.stringify(dist(m))})`),
    'const names = new Set()',
    'for (const file of Object.keys(Module._cache)) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file); if (m) names.add(m[1]) }',
    'console.log(JSON.stringify([...names]))',
  ].join('\n')
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: E2E_TEST_TIMEOUT_MS })
  return new Set(JSON.parse(stdout) as string[])
}

const ON_DEMAND = ['etcd3', '@grpc/grpc-js', 'protobufjs', 'udx-native', 'send', 'mime-db', 'ws']

describe('libraries of unconfigured features', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('are not loaded by the server and client commands with the relay and the client', async () => {
    const loaded = await packagesLoadedBy(['cli/commands/server.js', 'cli/commands/client.js'])
    expect(loaded.has('pino')).toBe(true)
    expect(ON_DEMAND.filter((name) => loaded.has(name))).toEqual([])
  })
})
