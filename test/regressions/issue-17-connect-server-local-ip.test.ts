// Issue 17: frp's transport.connectServerLocalIP (pick the local address the connection to the
// relay leaves from, e.g. one of several uplinks) was refused. Now it is read, checked (an IP
// address; a warning when no interface of this machine has it) and used for the TCP connection
// to the relay, or to the proxy of transport.proxyURL.
import { afterEach, describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const file = (ip: string): string => `serverAddr: 127.0.0.1\nauth: { token: t }\ntransport:\n  connectServerLocalIP: ${ip}\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n`

describe('issue 17: transport.connectServerLocalIP', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('reads an IPv4 or IPv6 address (brackets allowed), and refuses anything else at its line', () => {
    expect(parseClientConfig(file('127.0.0.2'), 'frpc.yml', {}).config.transport.connectServerLocalIP).toBe('127.0.0.2')
    expect(parseClientConfig(file('"[::1]"'), 'frpc.yml', {}).config.transport.connectServerLocalIP).toBe('::1')
    expect(parseClientConfig('serverAddr: x\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n', 'frpc.yml', {}).config.transport.connectServerLocalIP).toBeNull()
    try {
      parseClientConfig(file('eth0'), 'frpc.yml', {})
      expect.unreachable('eth0 is not an address')
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}: ${i.message}`)).toEqual([
        expect.stringMatching(/^4:25 transport\.connectServerLocalIP: must be an IP address of this machine/),
      ])
    }
  })

  it('warns when no interface of this machine has the address (the connection could not leave from it)', () => {
    const { warnings } = parseClientConfig(file('192.0.2.77'), 'frpc.yml', {})
    expect(warnings.map((w) => `${w.location.line} ${w.message}`)).toContainEqual(expect.stringMatching(/^4 transport\.connectServerLocalIP 192\.0\.2\.77 is not an address of this machine/))
    for (const mine of ['127.0.0.1', '0.0.0.0']) expect(parseClientConfig(file(mine), 'frpc.yml', {}).warnings.some((w) => w.message.includes('connectServerLocalIP'))).toBe(false)
  })

  it('connects to the relay from that address: the relay sees 127.0.0.2, and the proxy works', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }], extraYaml: 'transport:\n  connectServerLocalIP: 127.0.0.2' }))
    const login = await relay.handle.waitForLog(logMsg('client logged in'))
    expect(String(login.remote)).toMatch(/^127\.0\.0\.2:\d+$/)
    expect(await echoOnce(client.ports.get('echo') ?? 0)).toBe(true)
  })
})
