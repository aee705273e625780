// Addresses through the real CLI: the visitor's normalised address delivered to the local service
// in PROXY v1 and v2 headers (IPv4 visitor as 127.0.0.1, never ::ffff:127.0.0.1; IPv6 as ::1), a
// client dialling the relay at serverAddr "::1", and the relay's per-proxy source filter
// (allowSources 127.0.0.0/8 admits ::ffff:127.0.0.2 on the dual-stack listener, refuses ::1).
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { parseProxyHeader, type ParsedProxyHeader } from '../../shared/net/proxy-protocol.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay, TEST_TOKEN, writeTempFile } from '../helpers/cli.js'
import { closeServices, startEchoServer, startServer } from '../helpers/services.js'
import { closeUdp, startUdpEcho, udpVisitor } from '../helpers/udp.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  await closeUdp()
})

interface Seen {
  header: ParsedProxyHeader
  /** The stream's bytes after the header. */
  data: string
}

/** A local service that reads a PROXY header (v1 or v2) and the rest, and answers with what it saw. */
function startProxyAwareServer (): ReturnType<typeof startServer> {
  return startServer((socket) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => { chunks.push(c) })
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      try {
        const header = parseProxyHeader(all)
        if (header === undefined) throw new Error('incomplete header')
        socket.end(JSON.stringify({ header, data: all.subarray(header.length).toString() }))
      } catch (err) {
        socket.end(JSON.stringify({ error: (err as Error).message }))
      }
    })
  })
}

interface Visit {
  reply: string
  /** The visitor socket's own address and port. */
  local: { address: string, port: number }
  closedByError: boolean
}

/** Connects to host:port (from localAddress if given), sends `payload`, half-closes, reads everything back. */
function visit (host: string, port: number, payload: string, localAddress?: string): Promise<Visit> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port, allowHalfOpen: true, ...(localAddress === undefined ? {} : { localAddress }) })
    const chunks: Buffer[] = []
    let local = { address: '', port: 0 }
    let closedByError = false
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no reply from [${host}]:${port} within 5 s`)) }, 5_000)
    socket.once('connect', () => {
      local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 }
      socket.end(payload)
    })
    socket.on('data', (c: Buffer) => { chunks.push(c) })
    socket.on('error', () => { closedByError = true })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ reply: Buffer.concat(chunks).toString(), local, closedByError })
    })
  })
}

function seen (v: Visit): Seen {
  return JSON.parse(v.reply) as Seen
}

describe('addresses', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('gives the local service the visitor\'s normalised address in PROXY v1 and v2 headers', async () => {
    const backend = await startProxyAwareServer()
    const relay = await startRelay({ extraYaml: 'proxyBindAddr: "::"' })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'pp1', localPort: backend.port, remotePort: 0, extra: { transport: '{ proxyProtocolVersion: v1 }' } },
        { name: 'pp2', localPort: backend.port, remotePort: 0, extra: { transport: '{ proxyProtocolVersion: v2 }' } },
      ],
    }))
    for (const [name, version] of [['pp1', 'v1'], ['pp2', 'v2']] as const) {
      const port = client.ports.get(name)
      if (port === undefined) throw new Error(`proxy ${name} refused: ${client.refused.get(name) ?? '?'}`)

      const v4 = await visit('127.0.0.1', port, `hello ${version} over IPv4`)
      expect(seen(v4)).toEqual({
        header: { version, family: 'tcp4', source: { address: '127.0.0.1', port: v4.local.port }, destination: { address: '127.0.0.1', port }, length: expect.any(Number) as number },
        data: `hello ${version} over IPv4`,
      })

      const v6 = await visit('::1', port, `hello ${version} over IPv6`)
      expect(seen(v6)).toEqual({
        header: { version, family: 'tcp6', source: { address: '::1', port: v6.local.port }, destination: { address: '::1', port }, length: expect.any(Number) as number },
        data: `hello ${version} over IPv6`,
      })
    }
  })

  it('connects a client configured with serverAddr "::1" to a relay bound to "::"', async () => {
    const echo = await startEchoServer()
    const relayPath = await writeTempFile('frps-v6.yml', ['bindAddr: "::"', 'bindPort: 0', 'auth:', `  token: ${JSON.stringify(TEST_TOKEN)}`].join('\n') + '\n')
    const relay = await startRelay({ configPath: relayPath })
    const yaml = clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] })
      .replace('serverAddr: 127.0.0.1', 'serverAddr: "::1"')
    expect(yaml).toContain('serverAddr: "::1"')
    const client = await startClient(yaml)
    const port = client.ports.get('echo')
    if (port === undefined) throw new Error(`proxy echo refused: ${client.refused.get('echo') ?? '?'}`)
    expect((await visit('::1', port, 'six')).reply).toBe('six')
    expect((await visit('127.0.0.1', port, 'four')).reply).toBe('four')
  })

  it('admits ::ffff:127.0.0.2 and refuses ::1 with allowSources 127.0.0.0/8 (tcp and udp)', async () => {
    const echo = await startEchoServer()
    const udpEcho = await startUdpEcho()
    const relay = await startRelay({ extraYaml: 'proxyBindAddr: "::"' })
    const allow = { allowSources: '["127.0.0.0/8"]' }
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'tcp', localPort: echo.port, remotePort: 0, extra: allow },
        { name: 'udp', type: 'udp', localPort: udpEcho.port, remotePort: 0, extra: allow },
      ],
    }))
    const tcpPort = client.ports.get('tcp')
    const udpPort = client.ports.get('udp')
    if (tcpPort === undefined || udpPort === undefined) throw new Error(`proxies refused: ${JSON.stringify([...client.refused])}`)

    // A visitor bound to 127.0.0.2 reaches the dual-stack listener as ::ffff:127.0.0.2.
    const admitted = await visit('127.0.0.1', tcpPort, 'let me in', '127.0.0.2')
    expect(admitted.reply).toBe('let me in')
    const refused = await visit('::1', tcpPort, 'let me in too')
    expect(refused.reply).toBe('')
    const line = await relay.handle.waitForLog(logMsg('visitor refused by the proxy\'s source filter', { remote: '::1' }))
    expect(line.refused).toBe(1)
    expect(relay.handle.logs.some((l) => l.msg === 'visitor refused by the proxy\'s source filter' && l.remote === '127.0.0.2')).toBe(false)

    const v4 = await udpVisitor(udpPort, 4)
    v4.send('ping4')
    await v4.waitFor(1)
    expect(v4.received[0]?.toString()).toBe('ping4')
    const v6 = await udpVisitor(udpPort, 6)
    v6.send('ping6')
    await relay.handle.waitForLog(logMsg('visitor refused by the proxy\'s source filter', { remote: '::1', proxy: 'udp' }))
    expect(v6.received).toHaveLength(0)
    expect(udpEcho.received).toBe(1)
  })
})
