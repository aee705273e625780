// An http proxy with transport.proxyProtocolVersion (frp's real-ip-http e2e case), through the
// real CLI: the service gets a PROXY header first on every connection, naming the visitor, and a
// connection carries the requests of that one visitor only (the relay keeps it for the visitor's
// keep-alive requests and never hands it to another visitor). Then nginx with `listen ...
// proxy_protocol`, as a home server behind the tunnel would run it.
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { parseProxyHeader } from '../../shared/net/proxy-protocol.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, startClient } from '../helpers/cli.js'
import { startNginxSite, stopDebianServices } from '../helpers/debian-services.js'
import { closeHttp, keepAliveRequests } from '../helpers/http.js'
import { missingTool } from '../helpers/system-tools.js'
import { startVhostRelay, vhostClientYaml } from '../helpers/vhost.js'

/** Keep-alive requests each visitor sends on its one connection. */
const REQUESTS_PER_VISITOR = 3

afterEach(async () => {
  await cleanupCli()
  await closeHttp()
  await stopDebianServices()
})

interface ProxyService {
  port: number
  /** Connections accepted, and those that have ended. */
  connections: () => number
  closed: () => number
  close: () => Promise<void>
}

/**
 * An HTTP/1.1 keep-alive service that requires a PROXY header first on each connection and
 * answers every request with the connection's number, the header's source address and the
 * request's X-Real-IP. A connection without a valid header is closed unanswered.
 */
async function startProxyHttpService (): Promise<ProxyService> {
  let connections = 0
  let closed = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    const id = ++connections
    sockets.add(socket)
    socket.once('close', () => { closed++; sockets.delete(socket) })
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    let source: string | undefined
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      if (source === undefined) {
        let header
        try { header = parseProxyHeader(buf) } catch { socket.destroy(); return }
        if (header === undefined) return
        source = header.source?.address ?? 'unknown'
        buf = buf.subarray(header.length)
      }
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.subarray(0, end).toString('latin1')
        buf = buf.subarray(end + 4)
        const realIp = /\r\nx-real-ip:\s*([^\r]*)/i.exec(head)?.[1] ?? ''
        const body = JSON.stringify({ connection: id, proxySource: source, realIp })
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    port: address.port,
    connections: () => connections,
    closed: () => closed,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    },
  }
}

const get = (host: string): string => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`

describe('http proxies with transport.proxyProtocolVersion', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('sends the service a PROXY header naming the visitor on each connection, and never carries another visitor\'s requests on it', async () => {
    const service = await startProxyHttpService()
    try {
      const relay = await startVhostRelay()
      await startClient(vhostClientYaml(relay.port, [
        { name: 'web', type: 'http', localPort: service.port, extra: ['customDomains: [pp.example.test]', 'transport:', '  proxyProtocolVersion: v2'] },
      ]))

      const visitors = ['127.0.0.2', '127.0.0.3'] as const
      const requests = Array.from({ length: REQUESTS_PER_VISITOR }, () => get('pp.example.test'))
      const first = await keepAliveRequests(relay.http, requests, 10_000, { localAddress: visitors[0] })
      const second = await keepAliveRequests(relay.http, requests, 10_000, { localAddress: visitors[1] })
      const seen = [first, second].map((bodies) => bodies.map((b) => JSON.parse(b) as { connection: number, proxySource: string, realIp: string }))
      for (const [i, replies] of seen.entries()) {
        // Every request reached the service on a connection whose header names its own visitor.
        for (const r of replies) expect(r).toMatchObject({ proxySource: visitors[i], realIp: visitors[i] })
        // A visitor's keep-alive requests share one service connection.
        expect(new Set(replies.map((r) => r.connection)).size).toBe(1)
      }
      // The second visitor got a connection of its own, not the first visitor's.
      expect(seen[0]?.[0]?.connection).not.toBe(seen[1]?.[0]?.connection)
      expect(service.connections()).toBe(2)
      // Each visitor's connection to the service ends with the visitor's own connection.
      for (let i = 0; i < 100 && service.closed() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(service.closed()).toBe(2)
    } finally {
      await service.close()
    }
  })

  it.skipIf(missingTool('nginx', 'nginx'))('serves nginx listening with proxy_protocol, which logs and answers the visitor\'s address', async () => {
    const nginx = await startNginxSite((port) => `listen 127.0.0.1:${port} proxy_protocol;\n    default_type text/plain;\n    location / { return 200 "$proxy_protocol_addr"; }`)
    const relay = await startVhostRelay()
    await startClient(vhostClientYaml(relay.port, [
      { name: 'home', type: 'http', localPort: nginx.port, extra: ['customDomains: [home.example.test]', 'transport:', '  proxyProtocolVersion: v1'] },
    ]))
    const bodies = await keepAliveRequests(relay.http, [get('home.example.test'), get('home.example.test')], 10_000, { localAddress: '127.0.0.4' })
    expect(bodies).toEqual(['127.0.0.4', '127.0.0.4'])
  })
})
