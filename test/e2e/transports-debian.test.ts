// Issue 18's acceptance with real components from Debian, each started and stopped by the test:
// a WebSocket client through nginx (plain, and terminating TLS for wss) with a 20 MB download,
// the relay restarted behind nginx, and transport.proxyURL through tinyproxy (HTTP CONNECT) and
// dante (SOCKS5), with and without credentials, wrong credentials exiting 2 with the proxy's answer.
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { ensureSocksUser, SOCKS_TEST_USER, startDanted, startNginx, startTinyproxy, stopDebianServices } from '../helpers/debian-services.js'
import { closeServices, connectTo, readAll, startSourceServer } from '../helpers/services.js'
import { missingTool } from '../helpers/system-tools.js'

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/transport/', import.meta.url))
const DOWNLOAD_BYTES = 20 * 1024 * 1024
/** The acceptance bound for a WebSocket client to be back after the relay behind nginx restarts. */
const BACK_WITHIN_MS = 10_000

afterEach(async () => {
  await cleanupCli()
  await stopDebianServices()
  await closeServices()
})

/** A 20 MB download through the client's proxy `dl`, compared with what the service sent. */
async function downloadMatches (port: number, source: Awaited<ReturnType<typeof startSourceServer>>): Promise<void> {
  const socket = await connectTo(port)
  socket.end()
  const reply = await readAll(socket, { timeoutMs: 25_000 })
  expect(reply.closedBy).toBe('end')
  expect({ bytes: reply.bytes, sha256: reply.sha256 }).toEqual(await source.sent[0])
}

describe.skipIf(missingTool('nginx', 'nginx'))('WebSocket behind nginx', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('a websocket client reaches the relay through nginx\'s proxy_pass with the Upgrade headers and serves a 20 MB download byte-exact', async () => {
    const relay = await startRelay({ extraYaml: 'transport:\n  websocket:\n    trustedProxies: [127.0.0.1]' })
    const nginx = await startNginx({ upstreamPort: relay.port })
    const source = await startSourceServer(DOWNLOAD_BYTES)
    const client = await startClient(clientYaml({ serverPort: nginx.port, extraYaml: 'transport:\n  protocol: websocket', proxies: [{ name: 'dl', localPort: source.port, remotePort: 0 }] }))
    expect(client.handle.logs.find((l) => l.msg === 'logged in')?.transport).toBe('websocket')
    await downloadMatches(client.ports.get('dl') ?? 0, source)
    // The relay trusts nginx, so X-Forwarded-For (here the same loopback address) names the client.
    expect(relay.handle.logs.find((l) => l.msg === 'client logged in')).toMatchObject({ transport: 'websocket', remote: expect.stringMatching(/^127\.0\.0\.1:/) as unknown })
  })

  it('wss through nginx terminating TLS with a test certificate (checked by the client) serves the download byte-exact', async () => {
    const relay = await startRelay()
    const nginx = await startNginx({ upstreamPort: relay.port, tls: { cert: `${TLS_DIR}relay.crt`, key: `${TLS_DIR}relay.key` } })
    const source = await startSourceServer(DOWNLOAD_BYTES)
    const client = await startClient(clientYaml({
      serverPort: nginx.port,
      extraYaml: `transport:\n  protocol: wss\n  tls:\n    trustedCaFile: ${TLS_DIR}ca.crt\n    serverName: relay.tunnel.test`,
      proxies: [{ name: 'dl', localPort: source.port, remotePort: 0 }],
    }))
    expect(client.handle.logs.find((l) => l.msg === 'logged in')?.transport).toBe('wss')
    await downloadMatches(client.ports.get('dl') ?? 0, source)
  })

  it('after the relay behind nginx restarts, the websocket client is back within 10 s', async () => {
    const first = await startRelay()
    const nginx = await startNginx({ upstreamPort: first.port })
    const client = await startClient(clientYaml({ serverPort: nginx.port, extraYaml: 'transport:\n  protocol: websocket', proxies: [] }), { waitFor: 'login' })
    const loginsBefore = client.handle.logs.filter((l) => l.msg === 'logged in').length
    const from = client.handle.logs.length
    first.handle.kill('SIGKILL')
    await exitWithin(first.handle, 5_000)
    // The new relay takes the same port (nginx's upstream) at once, as a supervisor restarts it.
    await startRelay({ bindPort: first.port })
    await client.handle.waitForLog(logMsg('logged in'), BACK_WITHIN_MS, from)
    expect(client.handle.logs.slice(from).some((l) => l.msg === 'lost the relay: reconnecting')).toBe(true)
    expect(client.handle.logs.filter((l) => l.msg === 'logged in').length).toBe(loginsBefore + 1)
  })
})

describe.skipIf(missingTool('tinyproxy', 'tinyproxy'))('transport.proxyURL through tinyproxy (HTTP CONNECT)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('without credentials: the client logs in through the proxy and serves a download', async () => {
    const relay = await startRelay()
    const proxy = await startTinyproxy()
    const source = await startSourceServer(1024 * 1024)
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  proxyURL: http://127.0.0.1:${proxy.port}`, proxies: [{ name: 'dl', localPort: source.port, remotePort: 0 }] }))
    expect(client.handle.logs.find((l) => l.msg === 'logged in')?.via).toBe(`http://127.0.0.1:${proxy.port}`)
    await downloadMatches(client.ports.get('dl') ?? 0, source)
  })

  it('with credentials (Basic), and websocket over the tunnel through it', async () => {
    const relay = await startRelay()
    const proxy = await startTinyproxy({ user: 'alice', password: 'wonder-land' })
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  protocol: websocket\n  proxyURL: http://alice:wonder-land@127.0.0.1:${proxy.port}`, proxies: [] }), { waitFor: 'login' })
    expect(client.handle.logs.find((l) => l.msg === 'logged in')).toMatchObject({ transport: 'websocket', via: `http://127.0.0.1:${proxy.port}` })
  })

  it('wrong credentials: exit 2, TUN_PROXY_URL_AUTH, quoting the proxy\'s answer (tinyproxy says 401) and never the password', async () => {
    const relay = await startRelay()
    const proxy = await startTinyproxy({ user: 'alice', password: 'wonder-land' })
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  proxyURL: http://alice:not-the-password@127.0.0.1:${proxy.port}`, proxies: [] }), { waitFor: 'none' })
    expect(await exitWithin(client.handle, 15_000)).toMatchObject({ code: 2 })
    const stderr = client.handle.stderr()
    expect(stderr).toContain('TUN_PROXY_URL_AUTH')
    expect(stderr).toContain('401 Unauthorized')
    expect(stderr).not.toContain('not-the-password')
  })
})

describe.skipIf(missingTool('danted', 'dante-server'))('transport.proxyURL through dante (SOCKS5)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  beforeAll(() => {
    // dante's username method checks the system's accounts: the test user must exist.
    if (!ensureSocksUser()) throw new Error(`cannot create the system user ${SOCKS_TEST_USER.user} for dante's username method (run as root)`)
  })

  it('without credentials: the client logs in through the SOCKS5 proxy and serves a download', async () => {
    const relay = await startRelay()
    const proxy = await startDanted(false)
    const source = await startSourceServer(1024 * 1024)
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  proxyURL: socks5://127.0.0.1:${proxy.port}`, proxies: [{ name: 'dl', localPort: source.port, remotePort: 0 }] }))
    expect(client.handle.logs.find((l) => l.msg === 'logged in')?.via).toBe(`socks5://127.0.0.1:${proxy.port}`)
    await downloadMatches(client.ports.get('dl') ?? 0, source)
  })

  it('with a user name and password (RFC 1929), over wss to the relay', async () => {
    const relay = await startRelay()
    const proxy = await startDanted(true)
    const { user, password } = SOCKS_TEST_USER
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  protocol: wss\n  proxyURL: socks5://${user}:${password}@127.0.0.1:${proxy.port}`, proxies: [] }), { waitFor: 'login' })
    expect(client.handle.logs.find((l) => l.msg === 'logged in')).toMatchObject({ transport: 'wss', via: `socks5://127.0.0.1:${proxy.port}` })
  })

  it('wrong credentials: exit 2, TUN_PROXY_URL_AUTH, naming the SOCKS5 proxy\'s refusal', async () => {
    const relay = await startRelay()
    const proxy = await startDanted(true)
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `transport:\n  proxyURL: socks5://${SOCKS_TEST_USER.user}:wrong-password@127.0.0.1:${proxy.port}`, proxies: [] }), { waitFor: 'none' })
    expect(await exitWithin(client.handle, 15_000)).toMatchObject({ code: 2 })
    const stderr = client.handle.stderr()
    expect(stderr).toContain('TUN_PROXY_URL_AUTH')
    expect(stderr).toContain('RFC 1929')
    expect(stderr).not.toContain('wrong-password')
  })
})
