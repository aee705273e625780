// The relay's transports against hostile and odd peers (issue 18), with raw sockets against a
// real relay in this process: what is not a client is closed or answered 404/400, an upgrade
// request has a size bound, the handshake limits count a client behind a trusted reverse proxy by
// its X-Forwarded-For (and ignore the header from anyone else), a relay without WebSocket refuses
// WebSocket clients, and a WebSocket stream that is not read buffers no more than its bound.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../../client/index.js'
import { websocketConnect, websocketUrl } from '../../client/transport/index.js'
import { WebSocketAcceptor } from '../../server/transport/index.js'
import type { TunnelError } from '../../shared/errors.js'
import { MAX_WEBSOCKET_MESSAGE_BYTES, WebSocketStream } from '../../shared/net/index.js'
import { clientConfig, closeInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { silentLogger } from '../../shared/log.js'

const sockets: Socket[] = []
const servers: Server[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const s of servers.splice(0)) s.close()
  await closeInProcess()
})

/** Connects, writes `data`, and collects what comes back until the relay closes (at most 5 s). */
async function exchange (port: number, data: string | Buffer): Promise<{ reply: string, closed: boolean }> {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => {})
  socket.write(data)
  const parts: Buffer[] = []
  socket.on('data', (c: Buffer) => parts.push(c))
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, 5_000)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  return { reply: Buffer.concat(parts).toString('latin1'), closed }
}

const upgrade = (xff?: string): string => [
  'GET /~!frp HTTP/1.1', 'Host: relay', 'Upgrade: websocket', 'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
  ...(xff === undefined ? [] : [`X-Forwarded-For: ${xff}`]), '', '',
].join('\r\n')

/** Opens an upgrade and resolves with the socket once the 101 came (or with what came instead). */
async function openUpgrade (port: number, xff?: string): Promise<{ socket: Socket, head: string }> {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => {})
  socket.write(upgrade(xff))
  let text = ''
  const head = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => { resolve(text) }, 5_000)
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      if (text.includes('\r\n\r\n') || text.includes('TUNL')) { clearTimeout(timer); resolve(text) }
    })
    socket.once('close', () => { clearTimeout(timer); resolve(text) })
  })
  return { socket, head }
}

describe('what is not a client on the relay\'s port', () => {
  it('a first byte that is neither the hello, TLS nor GET is closed without an answer', async () => {
    const { port } = await startRelayInProcess()
    expect(await exchange(port, Buffer.from([0x00, 0x01, 0x02]))).toEqual({ reply: '', closed: true })
  })

  it('an HTTP request for another path gets 404, one for /~!frp without the upgrade 400, both closed', async () => {
    const { port } = await startRelayInProcess()
    const other = await exchange(port, 'GET / HTTP/1.1\r\nHost: relay\r\n\r\n')
    expect(other.reply).toMatch(/^HTTP\/1\.1 404 /)
    expect(other.closed).toBe(true)
    const plain = await exchange(port, 'GET /~!frp HTTP/1.1\r\nHost: relay\r\n\r\n')
    expect(plain.reply).toMatch(/^HTTP\/1\.1 400 /)
  })

  it('an upgrade request longer than 8 KiB is closed without an upgrade', async () => {
    const { port } = await startRelayInProcess()
    const huge = `GET /~!frp HTTP/1.1\r\n${'X-Pad: ' + 'a'.repeat(100) + '\r\n'}`.repeat(1) + `X-Big: ${'b'.repeat(9 * 1024)}\r\n\r\n`
    const r = await exchange(port, huge)
    expect(r.closed).toBe(true)
    expect(r.reply).not.toContain('101')
  })

  it('a relay with transport.websocket.enable false answers 404, and a websocket client reports TUN_WEBSOCKET_UPGRADE', async () => {
    const { port } = await startRelayInProcess('transport:\n  websocket:\n    enable: false\n')
    const client = new Client(clientConfig(port, 'transport:\n  protocol: websocket\n'), silentLogger(), { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 } })
    const failed = new Promise<TunnelError>((resolve) => { client.once('attemptFailed', resolve) })
    const running = client.run()
    const err = await failed
    client.close(0)
    await running.catch(() => {})
    expect(err.code).toBe('TUN_WEBSOCKET_UPGRADE')
    expect(err.message).toContain('404')
  })
})

describe('handshake limits for WebSocket clients', () => {
  it('behind a trusted proxy, clients count by X-Forwarded-For: other networks get in, a second from the same one is refused BUSY inside the WebSocket', async () => {
    const { relay, port } = await startRelayInProcess('transport:\n  websocket:\n    trustedProxies: [127.0.0.1]\n', silentLogger(), 0, { gate: { maxPerSource: 1 } })
    const a = await openUpgrade(port, '198.51.100.1')
    const b = await openUpgrade(port, '203.0.113.1')
    expect(a.head).toMatch(/^HTTP\/1\.1 101 /)
    expect(b.head).toMatch(/^HTTP\/1\.1 101 /)
    expect(relay.pendingHandshakes).toBe(2)
    const c = await openUpgrade(port, '198.51.100.2')
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /)
    expect(c.head).toContain('TUNL') // the BUSY refusal, in a binary WebSocket message
    expect(relay.handshakeStats.refused).toBe(1)
  })

  it('from anyone else X-Forwarded-For is ignored: every upgrade counts as its TCP peer', async () => {
    const { relay, port } = await startRelayInProcess('', silentLogger(), 0, { gate: { maxPerSource: 1 } })
    const a = await openUpgrade(port, '198.51.100.1')
    expect(a.head).toMatch(/^HTTP\/1\.1 101 /)
    const b = await openUpgrade(port, '203.0.113.1')
    expect(b.head.startsWith('TUNL')).toBe(true) // refused at accept, before any HTTP
    expect(relay.handshakeStats.refused).toBe(1)
  })
})

describe('WebSocketStream', () => {
  it('buffers at most its high-water mark and one message when nobody reads; the rest waits in TCP', async () => {
    // The real pair: a relay-side stream from our acceptor, a client-side one from the client's dialer.
    const acceptor = new WebSocketAcceptor()
    const server = createServer((tcp) => {
      tcp.once('data', (first: Buffer) => {
        tcp.pause()
        void acceptor.accept(tcp, first, AbortSignal.timeout(5_000)).then((r) => {
          if ('ws' in r) serverSide(new WebSocketStream(r.ws, tcp))
        })
      })
    })
    servers.push(server)
    let serverSide: (s: WebSocketStream) => void = () => {}
    const receiving = new Promise<WebSocketStream>((resolve) => { serverSide = resolve })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    const tcp = connect(port, '127.0.0.1')
    sockets.push(tcp)
    await new Promise((resolve) => tcp.once('connect', resolve))
    const sending = await websocketConnect(tcp, websocketUrl(false, '127.0.0.1', port), AbortSignal.timeout(5_000))
    const receiver = await receiving
    // Write 32 MiB in 64 KiB messages, waiting for drain; nobody reads on the other side.
    const chunk = Buffer.alloc(64 * 1024, 7)
    let written = 0
    const deadline = Date.now() + 10_000
    while (written < 32 * 1024 * 1024 && Date.now() < deadline) {
      if (!sending.write(chunk)) {
        const drained = await Promise.race([new Promise<boolean>((resolve) => sending.once('drain', () => { resolve(true) })), new Promise<boolean>((resolve) => setTimeout(() => { resolve(false) }, 500))])
        if (!drained) break
      }
      written += chunk.length
    }
    expect(written).toBeLessThan(32 * 1024 * 1024) // the sender was held back
    expect(receiver.readableLength).toBeLessThanOrEqual(receiver.readableHighWaterMark + MAX_WEBSOCKET_MESSAGE_BYTES)
    expect(receiver.bytesRead).toBeLessThan(written)
    sending.destroy()
    receiver.destroy()
  })
})
