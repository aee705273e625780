// The tls2raw plugin fed with real mux streams, the way the client's proxy manager feeds it: a
// TLS visitor reaches a raw TCP service through it and sees the plugin's certificate; a visitor
// that does not speak TLS is refused and counted; a service that is down closes the visitor and
// counts a failed connection; transport.proxyProtocolVersion puts a PROXY header first.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { PluginForwarder, type PluginProxy } from '../../client/plugins/index.js'
import type { PluginConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'
import { MuxDuplex } from '../../shared/mux/duplex.js'
import { Secret } from '../../shared/secret.js'
import { closeHttp, secureExampleCert } from '../helpers/http.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const pairs: MuxPair[] = []
const servers: Server[] = []
const sockets: Socket[] = []
const forwarders: PluginForwarder[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const f of forwarders.splice(0)) f.close()
  for (const p of pairs.splice(0)) p.close()
  await Promise.all(servers.splice(0).map(async (s) => { await new Promise((resolve) => { s.close(resolve) }) }))
  await closeHttp()
})

const proxyWith = (plugin: PluginConfig, proxyProtocolVersion: 'v1' | 'v2' | null = null): PluginProxy => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort: 0, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client', plugin })

/** A raw TCP service that answers `raw:` + what it got, and records every byte it received. */
async function rawService (): Promise<{ port: number, received: () => Buffer }> {
  const got: Buffer[] = []
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s)
    s.on('error', () => {})
    s.on('data', (c: Buffer) => { got.push(c) })
    s.write('raw:')
    s.pipe(s)
  })
  servers.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return { port: (server.address() as AddressInfo).port, received: () => Buffer.concat(got) }
}

async function closedPort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise((resolve) => { server.close(resolve) })
  return port
}

async function harness (plugin: PluginConfig, proxyProtocolVersion: 'v1' | 'v2' | null = null): Promise<{ forwarder: PluginForwarder, visit: () => MuxDuplex }> {
  const pair = await muxPair()
  pairs.push(pair)
  const forwarder = new PluginForwarder(proxyWith(plugin, proxyProtocolVersion), silentLogger())
  forwarders.push(forwarder)
  pair.client.on('stream', (s) => { forwarder.handle(s) })
  const visitor = { address: '127.0.0.1', port: 40000 }
  const listener = { address: '127.0.0.1', port: 6000 }
  return {
    forwarder,
    visit: () => {
      const d = new MuxDuplex(pair.server.openStream({ proxy: 'p', visitor, listener }))
      d.on('error', () => {})
      return d
    },
  }
}

/** A TLS client over a visitor stream; resolves once the handshake is done (or the socket closed). */
async function tlsVisitor (d: MuxDuplex, ca?: Buffer): Promise<{ socket: TLSSocket, secure: boolean, error: Error | undefined }> {
  const socket = tlsConnect({ socket: d, servername: 'secure.example.test', ...(ca === undefined ? { rejectUnauthorized: false } : { ca }) })
  sockets.push(socket)
  return await new Promise((resolve) => {
    let error: Error | undefined
    socket.on('error', (err) => { error = err })
    socket.once('secureConnect', () => { resolve({ socket, secure: true, error }) })
    socket.once('close', () => { resolve({ socket, secure: false, error }) })
  })
}

/** Writes `text` and reads until `n` bytes came back or the socket closed. */
async function talk (socket: Socket, text: string, n: number): Promise<string> {
  return await new Promise((resolve) => {
    const parts: Buffer[] = []
    let got = 0
    const done = (): void => { socket.off('data', onData); resolve(Buffer.concat(parts).toString()) }
    const onData = (c: Buffer): void => { parts.push(c); got += c.length; if (got >= n) done() }
    socket.on('data', onData)
    socket.once('close', done)
    if (text.length > 0) socket.write(text)
  })
}

/** Bytes the stream sends until it closes or ends. */
async function untilClosed (d: MuxDuplex, bytes: string): Promise<{ data: Buffer, closed: boolean }> {
  return await new Promise((resolve) => {
    const parts: Buffer[] = []
    d.on('data', (c: Buffer) => parts.push(c))
    const done = (): void => { resolve({ data: Buffer.concat(parts), closed: true }) }
    d.once('close', done)
    d.once('end', done)
    d.write(bytes)
  })
}

describe('tls2raw plugin', () => {
  it('ends a visitor\'s TLS with the configured certificate and carries the plain bytes to the raw service both ways', async () => {
    const svc = await rawService()
    const cert = secureExampleCert()
    const { forwarder, visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port: svc.port }, certificate: { crtPath: cert.certPath, keyPath: 'key.pem', cert: cert.cert, key: new Secret(cert.key) } })
    // Trusting only that certificate: the handshake succeeds only if the plugin shows it.
    const v = await tlsVisitor(visit(), cert.cert)
    expect(v.error).toBeUndefined()
    expect(v.secure).toBe(true)
    expect(v.socket.getPeerCertificate().subject.CN).toBe('secure.example.test')
    expect(await talk(v.socket, 'hello', 'raw:hello'.length)).toBe('raw:hello')
    // The service got the plain text, not TLS records.
    expect(svc.received().toString()).toBe('hello')
    expect(forwarder.traffic()).toMatchObject({ total: 1, refused: 0, dialFailures: 0 })
  })

  it('serves a self-signed certificate when no crtPath/keyPath is set', async () => {
    const svc = await rawService()
    const { visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port: svc.port }, certificate: null })
    const v = await tlsVisitor(visit())
    expect(v.secure).toBe(true)
    const peer = v.socket.getPeerCertificate()
    expect(peer.issuer).toEqual(peer.subject)
    expect(await talk(v.socket, 'x', 'raw:x'.length)).toBe('raw:x')
  })

  it('refuses a visitor that speaks plain text instead of TLS, counts it, and never reaches the service', async () => {
    const svc = await rawService()
    const { forwarder, visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port: svc.port }, certificate: null })
    const r = await untilClosed(visit(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
    expect(r.closed).toBe(true)
    expect(r.data.toString()).not.toContain('raw:')
    await expect.poll(() => forwarder.traffic().refused).toBe(1)
    expect(svc.received().length).toBe(0)
    await expect.poll(() => forwarder.traffic().active).toBe(0)
  })

  it('closes the visitor after its handshake when the raw service is down, and counts the failed connection', async () => {
    const port = await closedPort()
    const { forwarder, visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port }, certificate: null })
    const v = await tlsVisitor(visit())
    expect(v.secure).toBe(true)
    expect(await talk(v.socket, '', 1)).toBe('')
    expect(v.socket.destroyed).toBe(true)
    expect(forwarder.traffic().dialFailures).toBe(1)
    await expect.poll(() => forwarder.traffic().active).toBe(0)
  })

  it('sends a PROXY v1 header with the visitor\'s address before the plain bytes when the proxy asks for one', async () => {
    const svc = await rawService()
    const { visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port: svc.port }, certificate: null }, 'v1')
    const v = await tlsVisitor(visit())
    await talk(v.socket, 'after', 'raw:'.length + 'PROXY TCP4 127.0.0.1 127.0.0.1 40000 6000\r\nafter'.length)
    expect(svc.received().toString()).toBe('PROXY TCP4 127.0.0.1 127.0.0.1 40000 6000\r\nafter')
  })

  it('does not dial for a visitor stream that closed before the plugin got it', async () => {
    const svc = await rawService()
    const { forwarder, visit } = await harness({ type: 'tls2raw', localAddr: { host: '127.0.0.1', port: svc.port }, certificate: null })
    const d = visit()
    d.destroy()
    await expect.poll(() => forwarder.traffic().active).toBe(0)
    expect(forwarder.traffic().dialFailures).toBe(0)
    expect(svc.received().length).toBe(0)
  })
})
