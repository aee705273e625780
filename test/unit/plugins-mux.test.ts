// Client plugins fed with real mux streams (a relay-side and a client-side session over
// loopback), the way the client's proxy manager feeds them, with a raw visitor on the relay side
// writing exactly the bytes a test wants: SOCKS5 and HTTP CONNECT handshakes good and hostile,
// wrong credentials, oversized heads, a half-closed tunnel, and the forwarder's counters.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import type { MuxDuplex } from '../../shared/mux/duplex.js'
import { Secret } from '../../shared/secret.js'
import { closeHttp, secureExampleCert, startHttpService, startHttpsService, type Seen } from '../helpers/http.js'
import { closedPort, closePluginMux, echoService, exchange, pluginHarness } from '../helpers/plugin-mux.js'

afterEach(async () => {
  await closePluginMux()
  await closeHttp()
})

const creds = (user: string, password: string): { user: string, password: Secret } => ({ user, password: new Secret(Buffer.from(password)) })

const socksConnect = (port: number): Buffer => Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff])
const userPass = (u: string, p: string): Buffer => Buffer.concat([Buffer.from([1, u.length]), Buffer.from(u), Buffer.from([p.length]), Buffer.from(p)])

describe('socks5 plugin', () => {
  it('connects an authenticated visitor to the asked target and carries bytes both ways', async () => {
    const port = await echoService()
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: creds('u', 'p') })
    const d = visit()
    expect([...(await exchange(d, Buffer.from([5, 1, 2]), 2)).data]).toEqual([5, 2])
    expect([...(await exchange(d, userPass('u', 'p'), 2)).data]).toEqual([1, 0])
    const reply = await exchange(d, socksConnect(port), 10 + 5)
    expect([...reply.data.subarray(0, 4)]).toEqual([5, 0, 0, 1])
    expect(reply.data.subarray(10).toString()).toBe('echo:')
    expect((await exchange(d, 'hello', 5)).data.toString()).toBe('hello')
    d.end()
    await exchange(d, '')
    expect(forwarder.traffic()).toMatchObject({ total: 1, refused: 0, dialFailures: 0 })
  })

  it('refuses a wrong password with the RFC 1929 failure status, and counts it', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: creds('u', 'p') })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 2]), 2)
    const r = await exchange(d, userPass('u', 'nope'))
    expect([...r.data]).toEqual([1, 1])
    expect(r.closed).toBe(true)
    expect(forwarder.traffic().refused).toBe(1)
  })

  it('answers "no acceptable method" to a visitor that offers no user/password when credentials are set', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: creds('u', 'p') })
    const r = await exchange(visit(), Buffer.from([5, 1, 0]))
    expect([...r.data]).toEqual([5, 0xff])
    expect(r.closed).toBe(true)
    expect(forwarder.traffic().refused).toBe(1)
  })

  it('closes on a malformed greeting (another protocol, no methods) without answering', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([4, 1, 0, 80]), Buffer.from([5, 0])]) {
      const r = await exchange(visit(), junk)
      expect(r).toEqual({ data: Buffer.alloc(0), closed: true })
    }
    expect(forwarder.traffic().refused).toBe(3)
  })

  it('answers "command not supported" to BIND and "connection refused" when the target refuses', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    const bind = await exchange(d, Buffer.from([5, 2, 0, 1, 127, 0, 0, 1, 0, 80]))
    expect(bind.data[1]).toBe(7)
    const refusedPort = await closedPort()
    const e = visit()
    await exchange(e, Buffer.from([5, 1, 0]), 2)
    const refused = await exchange(e, socksConnect(refusedPort))
    expect(refused.data[1]).toBe(5)
    expect(forwarder.traffic().dialFailures).toBe(1)
  })

  it('keeps the tunnel open for the answer after the visitor half-closes', async () => {
    const port = await echoService()
    const { visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    await exchange(d, socksConnect(port), 15)
    // Bytes and FIN right behind each other: the service still answers them all.
    const all = exchange(d, '')
    d.end('last words')
    const r = await all
    expect(r.data.toString()).toBe('last words')
  })
})

describe('http_proxy plugin', () => {
  it('opens a CONNECT tunnel with the right Proxy-Authorization, carrying bytes sent behind the head', async () => {
    const port = await echoService()
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: creds('u', 'p') })
    const auth = Buffer.from('u:p').toString('base64')
    const head = `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`
    const expected = 'HTTP/1.1 200 Connection established\r\n\r\necho:early'
    const r = await exchange(visit(), head + 'early', expected.length)
    expect(r.data.toString()).toBe(expected)
  })

  it('answers 407 to a CONNECT with wrong or no credentials, and counts them', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'http_proxy', credentials: creds('u', 'p') })
    for (const auth of ['', `Proxy-Authorization: Basic ${Buffer.from('u:x').toString('base64')}\r\n`]) {
      const r = await exchange(visit(), `CONNECT 127.0.0.1:9 HTTP/1.1\r\n${auth}\r\n`)
      expect(r.data.toString()).toMatch(/^HTTP\/1\.1 407 /)
      expect(r.closed).toBe(true)
    }
    expect(forwarder.traffic().refused).toBe(2)
  })

  it('answers 431 to an oversized CONNECT head and 400 to a malformed one', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    const big = await exchange(visit(), `CONNECT 127.0.0.1:9 HTTP/1.1\r\nX-Big: ${'x'.repeat(40_000)}\r\n\r\n`)
    expect(big.data.toString()).toMatch(/^HTTP\/1\.1 431 /)
    const bad = await exchange(visit(), 'CONNECT nowhere HTTP/1.1\r\n\r\n')
    expect(bad.data.toString()).toMatch(/^HTTP\/1\.1 400 /)
    expect(forwarder.traffic().refused).toBe(2)
  })

  it('answers 502 when the CONNECT target refuses', async () => {
    const refusedPort = await closedPort()
    const { forwarder, visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    const r = await exchange(visit(), `CONNECT 127.0.0.1:${refusedPort} HTTP/1.1\r\n\r\n`)
    expect(r.data.toString()).toMatch(/^HTTP\/1\.1 502 /)
    expect(forwarder.traffic().dialFailures).toBe(1)
  })

  it('refuses an origin-form request (it is a proxy, not a web server) and asks for credentials on absolute-form ones', async () => {
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: creds('u', 'p') })
    const noAuth = await exchange(visit(), 'GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n')
    expect(noAuth.data.toString()).toMatch(/^HTTP\/1\.1 407 /)
    const auth = Buffer.from('u:p').toString('base64')
    const origin = await exchange(visit(), `GET / HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`)
    expect(origin.data.toString()).toMatch(/^HTTP\/1\.1 400 /)
  })
})

describe('the plugin forwarder', () => {
  it('resets its streams and refuses new ones once closed', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    const closed = exchange(d, '')
    forwarder.close()
    expect((await closed).closed).toBe(true)
    const after = await exchange(visit(), Buffer.from([5, 1, 0]))
    expect(after).toEqual({ data: Buffer.alloc(0), closed: true })
    expect(forwarder.traffic().active).toBe(0)
  })
})

/** One HTTP/1.1 request over a visitor stream (Connection: close); the whole response as text. */
async function rawHttp (d: MuxDuplex, head: string): Promise<string> {
  return (await exchange(d, head)).data.toString()
}

describe('HTTP plugins', () => {
  it('http2http rewrites the Host and sets request headers for the local service', async () => {
    const svc = await startHttpService('local')
    const { visit } = await pluginHarness({ type: 'http2http', localAddr: { host: '127.0.0.1', port: svc.port }, hostHeaderRewrite: 'inside.lan', requestHeaders: { 'x-from-where': 'tunnel' } })
    const text = await rawHttp(visit(), 'GET /p?q=1 HTTP/1.1\r\nHost: outside.example\r\nConnection: close\r\n\r\n')
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    const seen = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Seen
    expect(seen).toMatchObject({ url: '/p?q=1', headers: { host: 'inside.lan', 'x-from-where': 'tunnel' } })
  })

  it('http2https reaches an HTTPS service without checking its certificate', async () => {
    const svc = await startHttpsService('tls-local', secureExampleCert())
    const { visit } = await pluginHarness({ type: 'http2https', localAddr: { host: '127.0.0.1', port: svc.port }, hostHeaderRewrite: '', requestHeaders: {} })
    const text = await rawHttp(visit(), 'GET /x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n')
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(text).toContain('"service":"tls-local"')
  })

  it('answers 502 when the local service cannot be reached, and counts it', async () => {
    const refusedPort = await closedPort()
    const { forwarder, visit } = await pluginHarness({ type: 'http2http', localAddr: { host: '127.0.0.1', port: refusedPort }, hostHeaderRewrite: '', requestHeaders: {} })
    expect(await rawHttp(visit(), 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 502 /)
    expect(forwarder.traffic().dialFailures).toBe(1)
  })

  it('https2https ends TLS with a self-signed certificate and passes the request on over TLS', async () => {
    const svc = await startHttpsService('tls-local', secureExampleCert())
    const { visit } = await pluginHarness({ type: 'https2https', localAddr: { host: '127.0.0.1', port: svc.port }, hostHeaderRewrite: '', requestHeaders: {}, certificate: null, enableHTTP2: false })
    const socket = tlsConnect({ socket: visit(), servername: 'localhost', rejectUnauthorized: false })
    socket.on('error', () => {})
    const text = await new Promise<string>((resolve) => {
      const parts: Buffer[] = []
      socket.on('data', (c: Buffer) => parts.push(c))
      socket.once('close', () => { resolve(Buffer.concat(parts).toString()) })
      socket.write('GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    })
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(text).toContain('"url":"/tls"')
  })

  it('static_file lists a folder without its dotfiles and asks for credentials when set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-static-mux-'))
    writeFileSync(join(dir, 'visible.txt'), 'v')
    writeFileSync(join(dir, '.hidden'), 'h')
    try {
      const { visit } = await pluginHarness({ type: 'static_file', localPath: dir, stripPrefix: '', credentials: creds('u', 'p') })
      expect(await rawHttp(visit(), 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 401 [^]*www-authenticate: Basic/i)
      const auth = Buffer.from('u:p').toString('base64')
      const listing = await rawHttp(visit(), `GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${auth}\r\nConnection: close\r\n\r\n`)
      expect(listing).toContain('visible.txt')
      expect(listing).not.toContain('.hidden')
      expect(await rawHttp(visit(), `POST /visible.txt HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 405 /)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
