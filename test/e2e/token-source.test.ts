// frp's auth.tokenSource with real processes: a relay and a client that read the token from files
// (as frp users keep it out of their configs; the relay's file in TOML, the client's in YAML) log in and carry bytes; a client whose token file
// holds another token is refused as with a wrong auth.token.
import { chmod } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, startClient, startRelay, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, probePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

async function tokenFile (name: string, text: string): Promise<string> {
  const path = await writeTempFile(name, text)
  await chmod(path, 0o600)
  return path
}

const relayToml = (tokenPath: string): string => `bindAddr = "127.0.0.1"\nbindPort = 0\nauth.tokenSource.type = "file"\nauth.tokenSource.file.path = ${JSON.stringify(tokenPath)}\n`
const clientYamlWithSource = (relayPort: number, tokenPath: string, localPort: number, remotePort: number): string => [
  'serverAddr: 127.0.0.1',
  `serverPort: ${relayPort}`,
  'auth:',
  '  tokenSource:',
  '    type: file',
  `    file: { path: ${JSON.stringify(tokenPath)} }`,
  'proxies:',
  `  - { name: echo, type: tcp, localIP: 127.0.0.1, localPort: ${localPort}, remotePort: ${remotePort} }`,
].join('\n') + '\n'

describe('auth.tokenSource (frp\'s token file)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('lets a relay and a client that read one token from their files (whitespace trimmed) connect and carry bytes', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay({ configPath: await writeTempFile('frps-ts.toml', relayToml(await tokenFile('relay.token', 'file-token-42\n'))) })
    const clientPath = await writeTempFile('frpc-ts.yml', clientYamlWithSource(relay.port, await tokenFile('client.token', '  file-token-42  \n\n'), echo.port, remotePort))
    const client = await startClient('', { configPath: clientPath })
    expect(client.ports.get('echo')).toBe(remotePort)
    expect(await echoOnce(remotePort)).toBe(true)
    expect(relay.handle.stderr() + client.handle.stderr()).not.toContain('file-token-42')
  })

  it('refuses a client whose token file holds another token (exit 2, TUN_AUTH_REFUSED, no port opened)', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay({ configPath: await writeTempFile('frps-ts2.toml', relayToml(await tokenFile('relay2.token', 'right-token'))) })
    const clientPath = await writeTempFile('frpc-ts2.yml', clientYamlWithSource(relay.port, await tokenFile('client2.token', 'wrong-token'), echo.port, remotePort))
    const client = await startClient('', { configPath: clientPath, waitFor: 'none' })
    expect(await exitWithin(client.handle, 15_000)).toEqual({ code: 2, signal: null })
    expect(client.handle.stderr()).toContain('TUN_AUTH_REFUSED')
    expect(await probePort(remotePort)).toBe('refused')
  })
})
