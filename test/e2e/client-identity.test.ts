// Issue 22, finding 1, with the real CLI: a client's key is its identity. `tunnel keygen --client`
// prints the lines for both files; a client without a key file creates one (0600) on first start
// and `keygen --client --show` prints its auth.clientKeys entry; a relay with auth.clientKeys
// admits the listed key (as the listed clientID only) and refuses any other with exit 2 and a
// line that says what to do.
import { stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, spawnCli, startClient, startRelay, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const KEY = /publicKey: "([A-Za-z0-9+/]{43}=)"/

describe('client identity', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('keygen --client makes a key the relay admits by its auth.clientKeys entry; another key, or the listed key under another clientID, is refused with exit 2', async () => {
    const dir = dirname(await writeTempFile('placeholder', ''))
    const keyFile = join(dir, 'home.key')
    const keygen = spawnCli(['keygen', '--client', '--private-key-file', keyFile])
    expect(await exitWithin(keygen, 10_000)).toEqual({ code: 0, signal: null })
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    expect(keygen.stdout()).toContain(`clientKeyFile: ${JSON.stringify(keyFile)}`)
    const publicKey = KEY.exec(keygen.stdout())?.[1]
    expect(publicKey).toBeDefined()

    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: `  clientKeys:\n    - publicKey: "${publicKey ?? ''}"\n      clientID: home` })
    const proxies = [{ name: 'echo', localPort: echo.port, remotePort: 0 }]
    const home = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `  clientKeyFile: ${JSON.stringify(keyFile)}\nclientID: home`, proxies }))
    expect(await echoOnce(home.ports.get('echo') ?? 0)).toBe(true)
    const login = await relay.handle.waitForLog(logMsg('client logged in'))
    expect(login.clientId).toBe('home')

    // Another key (the client's own default key file, created now), same clientID: refused.
    const stranger = await startClient(clientYaml({ serverPort: relay.port, extraYaml: 'clientID: home', proxies: [{ name: 'other', localPort: echo.port, remotePort: 0 }] }), { waitFor: 'none' })
    expect(await exitWithin(stranger.handle, 10_000)).toEqual({ code: 2, signal: null })
    expect(stranger.handle.stderr()).toMatch(/the relay does not accept this client's key \(id [0-9a-f]{16}\) for clientID home: ask its operator to add the public key to auth\.clientKeys.*TUN_CLIENT_KEY_REFUSED/)
    const created = await stranger.handle.waitForLog(logMsg('created a new client key: it is this client\'s identity on the relay (a relay with auth.clientKeys must list its public key)'), 1_000)
    expect(typeof created.file).toBe('string')
    expect((await stat(String(created.file))).mode & 0o777).toBe(0o600)

    // --show prints the entry for that created key: the same public key the client logged.
    const show = spawnCli(['keygen', '--client', '--show', '-c', stranger.configPath])
    expect(await exitWithin(show, 10_000)).toEqual({ code: 0, signal: null })
    expect(KEY.exec(show.stdout())?.[1]).toBe(created.publicKey)
    expect(show.stdout()).toContain('clientID: "home"')

    // The listed key under another clientID: refused too (the entry binds the key to "home").
    const renamed = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `  clientKeyFile: ${JSON.stringify(keyFile)}\nclientID: elsewhere`, proxies: [{ name: 'x', localPort: echo.port, remotePort: 0 }] }), { waitFor: 'none' })
    expect(await exitWithin(renamed.handle, 10_000)).toEqual({ code: 2, signal: null })
    expect(renamed.handle.stderr()).toContain('TUN_CLIENT_KEY_REFUSED')
    await relay.handle.waitForLog((l) => l.msg === 'handshake refused' && l.code === 'TUN_CLIENT_KEY_REFUSED', 5_000)

    // Through all of this the admitted client kept its session and its proxy.
    expect(home.handle.logs.filter((l) => l.msg === 'logged in')).toHaveLength(1)
    expect(await echoOnce(home.ports.get('echo') ?? 0)).toBe(true)
  })
})
