// An frp user's TOML files as frp's docs write them: relay and client start from frps.toml and
// frpc.toml, and a visitor reaches the service; a broken frpc.toml exits 2 with its place.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, spawnCli, TEST_TOKEN, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('frps.toml and frpc.toml', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('run the relay and the client, and a visitor reaches the service', async () => {
    const echo = await startEchoServer()
    const frps = await writeTempFile('frps.toml', `bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "${TEST_TOKEN}"\n`)
    const relay = spawnCli(['server', '-c', frps, '--log-format', 'json'])
    const port = Number((await relay.waitForLog(logMsg('relay listening'))).port)
    const frpc = await writeTempFile('frpc.toml', [
      'serverAddr = "127.0.0.1"',
      `serverPort = ${port}`,
      `auth.token = "${TEST_TOKEN}"`,
      '',
      '[[proxies]]',
      'name = "echo"',
      'type = "tcp"',
      'localIP = "127.0.0.1"',
      `localPort = ${echo.port}`,
      'remotePort = 0',
    ].join('\n') + '\n')
    const client = spawnCli(['client', '-c', frpc, '--log-format', 'json'])
    const registered = await client.waitForLog(logMsg('proxy registered'))
    expect(await echoOnce(Number(registered.remotePort))).toBe(true)

    const broken = await writeTempFile('frpc-broken.toml', 'serverAddr = "127.0.0.1"\n\n[[proxies]]\nname = "x"\ntype = "tcp"\nlocalPort = 99999\n')
    const bad = spawnCli(['client', '-c', broken])
    expect(await exitWithin(bad, 10_000)).toEqual({ code: 2, signal: null })
    expect(bad.stderr()).toMatch(/frpc-broken\.toml:6:13 proxies\[0\]\.localPort: 99999 is outside 1-65535/)
  })
})
