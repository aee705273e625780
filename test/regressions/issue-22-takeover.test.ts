// Issue 22, finding 4: any token holder could take over another client by logging in with its
// clientID (93 of 97 of its HTTP visitors answered by the attacker). Now a session may replace
// another only with the same client key: an impostor that names the real client's clientID and
// registers the same proxy name and port is refused, and the real client's visitors never reach
// it. The real client, SIGKILLed and restarted with its key file, gets its port back at once:
// its clientID, name and port stay reserved for its key (ownershipGrace) meanwhile, so the
// impostor, retrying all along, cannot slip in between.
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, startClient, startRelay, writeTempFile } from '../helpers/cli.js'
import { closeServices, exchange, getFreePort, startServer, type TestServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

/** A service that answers every connection with `word` and closes. */
async function answering (word: string): Promise<TestServer> {
  return await startServer((socket) => { socket.on('error', () => {}); socket.end(word) })
}

async function ask (port: number): Promise<string> {
  try {
    return (await exchange(port, Buffer.from('?'), { keep: true, timeoutMs: 3_000 })).reply.data?.toString('utf8') ?? ''
  } catch {
    return ''
  }
}

describe('issue 22: takeover needs the same client key', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('refuses an impostor with the same clientID, keeps the real client\'s visitors, and lets the real client back in at once after a SIGKILL', async () => {
    const real = await answering('real')
    const fake = await answering('pwned')
    const relay = await startRelay({ extraYaml: 'ownershipGrace: 30\n' })
    const port = await getFreePort()
    const dir = dirname(await writeTempFile('keys-live-here', ''))
    // clientYaml puts extraYaml right under `auth:  token:`; indented lines continue the auth block.
    const yaml = (service: number, keyFile: string): string => clientYaml({
      serverPort: relay.port,
      extraYaml: `  clientKeyFile: ${JSON.stringify(join(dir, keyFile))}\nclientID: home`,
      proxies: [{ name: 'web', localPort: service, remotePort: port }],
    })
    const realFile = await writeTempFile('frpc-real.yml', yaml(real.port, 'real.key'))
    const first = await startClient('', { configPath: realFile })
    expect(first.ports.get('web')).toBe(port)
    expect(await ask(port)).toBe('real')

    // The impostor: same token, same clientID, same proxy name and port, its own key.
    const impostor = await startClient(yaml(fake.port, 'impostor.key'), { waitFor: 'none' })
    const refused = await impostor.handle.waitForLog((l) => l.msg === 'cannot reach the relay' && l.code === 'TUN_CLIENT_ID_IN_USE', 15_000)
    expect(refused.reason).toMatch(/clientID home is held by a session with another client key/)
    for (let i = 0; i < 20; i++) expect(await ask(port)).toBe('real')
    expect(relay.handle.logs.some((l) => l.msg === 'session replaced an older one of the same client (same key)')).toBe(false)

    // SIGKILL the real client: its session ends, but its clientID, name and port stay reserved for
    // its key, so the impostor (retrying all along) cannot slip in; the restart (same key file)
    // gets them back at once: well inside the relay's 30 s ownershipGrace it would otherwise wait out (the
    // guard leaves a busy machine time to start the process).
    first.handle.kill('SIGKILL')
    await first.handle.exit
    const again = await startClient('', { configPath: realFile, timeoutMs: 20_000 })
    expect(again.ports.get('web')).toBe(port)
    expect(await ask(port)).toBe('real')
    expect(impostor.handle.logs.some((l) => l.msg === 'logged in')).toBe(false)
    for (let i = 0; i < 5; i++) expect(await ask(port)).toBe('real')
  })
})
