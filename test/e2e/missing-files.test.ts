// The real CLI with a relay file whose certificate and token files are not on this machine (frp's
// client-server-tls-mutual / token-source-file setups): `tunnel verify` warns at each key and
// exits 0; `tunnel server` refuses to start with the file:line:col errors (exit 2).
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, spawnCli, writeTempFile } from '../helpers/cli.js'

afterEach(async () => {
  await cleanupCli()
})

const RELAY = 'bindAddr: 127.0.0.1\nbindPort: 0\nauth:\n  tokenSource:\n    type: file\n    file:\n      path: /nonexistent/tunnel-test/token\ntransport:\n  tls:\n    certFile: /nonexistent/tunnel-test/server.crt\n    keyFile: /nonexistent/tunnel-test/server.key\n'

describe('files a relay config names that are not on this machine', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('are warnings for tunnel verify (exit 0) and errors for tunnel server (exit 2), at the same places', async () => {
    const file = await writeTempFile('frps-missing.yml', RELAY)
    const verify = spawnCli(['verify', '-c', file])
    expect((await verify.exit).code).toBe(0)
    const warned = verify.stderr().split('\n').filter((l) => l.includes('names a file that is not on this machine'))
    expect(warned.map((l) => l.replace(/ warning: .*$/, '').replace(/^.*:(\d+:\d+)$/, '$1'))).toEqual(['7:13', '10:15', '11:14'])
    expect(warned.every((l) => l.endsWith('the relay refuses to start until it exists there'))).toBe(true)
    expect(verify.stdout()).toContain('is valid (server config)')

    const server = spawnCli(['server', '-c', file, '--log-format', 'json'])
    expect((await server.exit).code).toBe(2)
    const errors = server.stderr().split('\n').filter((l) => l.includes('does not exist (TUN_CONFIG_INVALID)'))
    expect(errors.map((l) => l.replace(/^.*frps-missing\.yml:(\d+:\d+) .*$/, '$1'))).toEqual(['7:13', '10:15', '11:14'])
  })
})
