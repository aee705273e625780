// Transports under the handshake through the real CLI (issue 18), without outside components:
// TLS on the wire (what a capture sees), wss straight to the relay with its own certificate and a
// client that checks it, a client that trusts another CA (exit 2), a relay that wants TLS.
import { createServer, connect, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, startClient, startRelay, TEST_TOKEN } from '../helpers/cli.js'
import { closeServices, connectTo, readAll, startEchoServer, startSourceServer } from '../helpers/services.js'

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/transport/', import.meta.url))
const CA = `${TLS_DIR}ca.crt`
const OTHER_CA = `${TLS_DIR}other-ca.crt`
const RELAY_TLS = `transport:\n  tls:\n    certFile: ${TLS_DIR}relay.crt\n    keyFile: ${TLS_DIR}relay.key\n`
const MARKER = 'PAYLOAD-MARKER-6d1f0c'
/** The most a capture keeps per direction (the test sends far less). */
const MAX_CAPTURE_BYTES = 4 * 1024 * 1024

const forwarders: Server[] = []

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  for (const f of forwarders.splice(0)) f.close()
})

interface Capture {
  port: number
  /** Bytes client → relay and relay → client, as they crossed the forwarder. */
  up: Buffer[]
  down: Buffer[]
}

/** A TCP forwarder in front of the relay that records what passes (a capture without tcpdump). */
async function captureTo (relayPort: number): Promise<Capture> {
  const capture: Capture = { port: 0, up: [], down: [] }
  let kept = 0
  const record = (into: Buffer[], chunk: Buffer): void => {
    if (kept + chunk.length > MAX_CAPTURE_BYTES) return
    kept += chunk.length
    into.push(chunk)
  }
  const server = createServer((client: Socket) => {
    const relay = connect(relayPort, '127.0.0.1')
    client.on('data', (c: Buffer) => { record(capture.up, c); relay.write(c) })
    relay.on('data', (c: Buffer) => { record(capture.down, c); client.write(c) })
    client.on('close', () => relay.destroy())
    relay.on('close', () => client.destroy())
    client.on('error', () => {})
    relay.on('error', () => {})
  })
  forwarders.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  capture.port = typeof address === 'object' && address !== null ? address.port : 0
  return capture
}

async function echoThrough (port: number, text: string): Promise<string> {
  const socket = await connectTo(port)
  socket.end(text)
  const reply = await readAll(socket, { keep: true, timeoutMs: 10_000 })
  return reply.data?.toString() ?? ''
}

describe('transports through the real CLI', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('with transport.tls.enable the connection starts with a TLS handshake record and shows neither the token, nor the hello, nor the payload', async () => {
    const relay = await startRelay()
    const capture = await captureTo(relay.port)
    const echo = await startEchoServer()
    const client = await startClient(clientYaml({ serverPort: capture.port, extraYaml: 'transport:\n  tls:\n    enable: true', proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    const text = `${MARKER} `.repeat(200)
    expect(await echoThrough(client.ports.get('echo') ?? 0, text)).toBe(text)
    const up = Buffer.concat(capture.up)
    const down = Buffer.concat(capture.down)
    // A TLS record of type handshake (0x16), version 3.x: a ClientHello, and the relay's answer.
    expect([...up.subarray(0, 2)]).toEqual([0x16, 0x03])
    expect([...down.subarray(0, 2)]).toEqual([0x16, 0x03])
    for (const wire of [up, down]) {
      expect(wire.includes(TEST_TOKEN)).toBe(false)
      expect(wire.includes(MARKER)).toBe(false)
      // Without TLS a middlebox sees the hello's magic; under TLS it does not.
      expect(wire.includes('TUNL')).toBe(false)
    }
  })

  it('without TLS the same capture shows the hello\'s magic (what TLS hides from DPI), still never the token or the payload', async () => {
    const relay = await startRelay()
    const capture = await captureTo(relay.port)
    const echo = await startEchoServer()
    const client = await startClient(clientYaml({ serverPort: capture.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    const text = `${MARKER} `.repeat(200)
    expect(await echoThrough(client.ports.get('echo') ?? 0, text)).toBe(text)
    const up = Buffer.concat(capture.up)
    expect(up.subarray(0, 4).toString()).toBe('TUNL')
    expect(up.includes(TEST_TOKEN) || up.includes(MARKER)).toBe(false)
  })

  it('wss straight to the relay: its own certificate, checked by the client against trustedCaFile, carries a download byte-exact', async () => {
    const relay = await startRelay({ extraYaml: RELAY_TLS })
    const source = await startSourceServer(2 * 1024 * 1024)
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      extraYaml: `transport:\n  protocol: wss\n  tls:\n    trustedCaFile: ${CA}\n    serverName: relay.tunnel.test`,
      proxies: [{ name: 'dl', localPort: source.port, remotePort: 0 }],
    }))
    const login = client.handle.logs.find((l) => l.msg === 'logged in')
    expect(login?.transport).toBe('wss')
    const socket = await connectTo(client.ports.get('dl') ?? 0)
    socket.end()
    const reply = await readAll(socket, { timeoutMs: 20_000 })
    expect({ bytes: reply.bytes, sha256: reply.sha256 }).toEqual(await source.sent[0])
  })

  it('a client that trusts another CA refuses the relay\'s certificate: TUN_TLS_VERIFY, exit 2', async () => {
    const relay = await startRelay({ extraYaml: RELAY_TLS })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      extraYaml: `transport:\n  protocol: wss\n  tls:\n    trustedCaFile: ${OTHER_CA}\n    serverName: relay.tunnel.test`,
      proxies: [],
    }), { waitFor: 'none' })
    const exit = await exitWithin(client.handle, 15_000)
    expect(exit).toMatchObject({ code: 2 })
    expect(client.handle.stderr()).toContain('TUN_TLS_VERIFY')
    expect(client.handle.stderr()).toContain(OTHER_CA)
  })

  it('a certificate for another name is refused too (serverName checked): exit 2', async () => {
    const relay = await startRelay({ extraYaml: RELAY_TLS })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      extraYaml: `transport:\n  tls:\n    enable: true\n    trustedCaFile: ${CA}\n    serverName: elsewhere.example.com`,
      proxies: [],
    }), { waitFor: 'none' })
    expect(await exitWithin(client.handle, 15_000)).toMatchObject({ code: 2 })
    expect(client.handle.stderr()).toContain('TUN_TLS_VERIFY')
  })

  it('a relay with transport.tls.force refuses a client without TLS (TUN_TLS_REQUIRED, exit 2) and admits one with it', async () => {
    const relay = await startRelay({ extraYaml: 'transport:\n  tls:\n    force: true' })
    const plain = await startClient(clientYaml({ serverPort: relay.port, proxies: [] }), { waitFor: 'none' })
    expect(await exitWithin(plain.handle, 15_000)).toMatchObject({ code: 2 })
    expect(plain.handle.stderr()).toContain('TUN_TLS_REQUIRED')
    const tls = await startClient(clientYaml({ serverPort: relay.port, extraYaml: 'transport:\n  protocol: websocket\n  tls:\n    enable: true', proxies: [] }), { waitFor: 'login' })
    expect(tls.handle.logs.find((l) => l.msg === 'logged in')?.transport).toBe('websocket+tls')
  })

  it('mutual TLS: a relay with trustedCaFile admits a client with a certificate from that CA', async () => {
    const relay = await startRelay({ extraYaml: `${RELAY_TLS}    trustedCaFile: ${CA}\n` })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      extraYaml: `transport:\n  tls:\n    enable: true\n    certFile: ${TLS_DIR}client.crt\n    keyFile: ${TLS_DIR}client.key\n    trustedCaFile: ${CA}\n    serverName: localhost`,
      proxies: [],
    }), { waitFor: 'login' })
    expect(client.handle.logs.find((l) => l.msg === 'logged in')?.transport).toBe('tls')
  })
})
