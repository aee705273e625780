// The HTTP-speaking plugins' other paths, fed with real mux streams: http_proxy's absolute-form
// requests (forwarded in origin form, 502 when the target is down, 400 for a target it cannot
// parse), WebSocket upgrades through it and through http2http (101 and frames both ways, a
// service that answers without upgrading, a service that is down), a request cut short, and a
// CONNECT that follows a plain request on a keep-alive connection.
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { MuxDuplex } from '../../shared/mux/duplex.js'
import { Secret } from '../../shared/secret.js'
import { closeHttp, startHttpService, startWebSocketEcho, type Seen } from '../helpers/http.js'
import { closedPort, closePluginMux, echoService, exchange, pluginHarness, readUntil } from '../helpers/plugin-mux.js'

afterEach(async () => {
  await closePluginMux()
  await closeHttp()
})

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const WS_ACCEPT = createHash('sha1').update(WS_KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')

const upgradeHead = (target: string, host: string, extra = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`

/** A masked client text frame (payload < 126 bytes). */
function clientFrame (text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = Buffer.from([1, 2, 3, 4])
  const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)))
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, body])
}

/** The body of an HTTP/1.1 response given as text. */
const bodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4)

async function rawHttp (d: MuxDuplex, head: string): Promise<string> {
  return (await exchange(d, head)).data.toString()
}

describe('http_proxy plugin, absolute-form requests', () => {
  it('forwards an absolute-form request to its target in origin form, with the target as Host and without proxy headers', async () => {
    const svc = await startHttpService('behind')
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: { user: 'u', password: new Secret(Buffer.from('p')) } })
    const auth = Buffer.from('u:p').toString('base64')
    const text = await rawHttp(visit(), `GET http://127.0.0.1:${svc.port}/a/b?c=1 HTTP/1.1\r\nHost: 127.0.0.1:${svc.port}\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`)
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    const seen = JSON.parse(bodyOf(text)) as Seen
    expect(seen.url).toBe('/a/b?c=1')
    expect(seen.headers.host).toBe(`127.0.0.1:${svc.port}`)
    expect(seen.headers['proxy-authorization']).toBeUndefined()
  })

  it('answers 502 when the absolute-form target cannot be reached, and counts the failed connection', async () => {
    const port = await closedPort()
    const { forwarder, visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    const text = await rawHttp(visit(), `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    expect(text).toMatch(/^HTTP\/1\.1 502 /)
    expect(bodyOf(text)).toContain('cannot be reached')
    expect(forwarder.traffic().dialFailures).toBe(1)
  })

  it('answers 400 to an absolute-form URL that is not a usable http:// target', async () => {
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    expect(await rawHttp(visit(), 'GET ftp://127.0.0.1/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /)
    expect(await rawHttp(visit(), 'GET http://[zz/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /)
  })

  it('answers 400 to a request cut short before its head was complete, and counts it', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    const r = await exchange(visit(), 'CONNECT 127.0.0.1:1 HT', Infinity, true)
    expect(r.data.toString()).toMatch(/^HTTP\/1\.1 400 /)
    expect(r.data.toString()).toContain('cut short')
    expect(forwarder.traffic().refused).toBe(1)
  })

  it('opens a CONNECT tunnel asked after a plain request on the same keep-alive connection', async () => {
    const svc = await startHttpService('first')
    const echo = await echoService()
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: null })
    const d = visit()
    const first = readUntil(d, '"service":"first"')
    d.write(`GET http://127.0.0.1:${svc.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${svc.port}\r\n\r\n`)
    expect(await first).toMatch(/^HTTP\/1\.1 200 /)
    const tunnel = readUntil(d, 'echo:early')
    d.write(`CONNECT 127.0.0.1:${echo} HTTP/1.1\r\nHost: 127.0.0.1:${echo}\r\n\r\nearly`)
    expect(await tunnel).toBe('HTTP/1.1 200 Connection established\r\n\r\necho:early')
  })

  it('refuses a CONNECT after a plain request when its credentials are wrong, or it names no port, or the target is down', async () => {
    const svc = await startHttpService('first')
    const port = await closedPort()
    const cases: Array<[string, RegExp]> = [
      [`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${Buffer.from('u:x').toString('base64')}\r\n\r\n`, /^HTTP\/1\.1 407 /],
      [`CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n\r\n`, /^HTTP\/1\.1 502 /],
    ]
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: { user: 'u', password: new Secret(Buffer.from('p')) } })
    const auth = Buffer.from('u:p').toString('base64')
    for (const [connect, status] of cases) {
      const d = visit()
      const first = readUntil(d, '"service":"first"')
      d.write(`GET http://127.0.0.1:${svc.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${svc.port}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`)
      await first
      const r = await exchange(d, connect)
      expect(r.data.toString()).toMatch(status)
    }
  })
})

describe('WebSocket upgrades through the HTTP plugins', () => {
  it('http2http passes the service\'s 101 on and carries frames both ways', async () => {
    const ws = await startWebSocketEcho()
    const { visit } = await pluginHarness({ type: 'http2http', localAddr: { host: '127.0.0.1', port: ws.port }, hostHeaderRewrite: '', requestHeaders: {} })
    const d = visit()
    const answered = readUntil(d, '\r\n\r\n')
    d.write(upgradeHead('/chat', 'a.example'))
    const text = await answered
    expect(text).toMatch(/^HTTP\/1\.1 101 /)
    expect(text.toLowerCase()).toContain(`sec-websocket-accept: ${WS_ACCEPT.toLowerCase()}`)
    const echoed = await exchange(d, clientFrame('hello'), 2 + 5)
    expect([...echoed.data.subarray(0, 2)]).toEqual([0x81, 5])
    expect(echoed.data.subarray(2).toString()).toBe('hello')
    expect(ws.upgrades).toBe(1)
  })

  it('http2http passes on the answer of a service that does not upgrade, and closes the connection', async () => {
    const svc = await startHttpService('plain')
    const { visit } = await pluginHarness({ type: 'http2http', localAddr: { host: '127.0.0.1', port: svc.port }, hostHeaderRewrite: '', requestHeaders: {} })
    const r = await exchange(visit(), upgradeHead('/no', 'a.example'))
    const text = r.data.toString()
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(text).toContain('connection: close')
    expect(text).toContain('"service":"plain"')
  })

  it('http2http answers 502 to an upgrade when the service is down, and counts the failed connection', async () => {
    const port = await closedPort()
    const { forwarder, visit } = await pluginHarness({ type: 'http2http', localAddr: { host: '127.0.0.1', port }, hostHeaderRewrite: '', requestHeaders: {} })
    const r = await exchange(visit(), upgradeHead('/', 'a.example'))
    expect(r.data.toString()).toMatch(/^HTTP\/1\.1 502 /)
    expect(forwarder.traffic().dialFailures).toBe(1)
  })

  it('http_proxy upgrades an authorized absolute-form request and refuses one without credentials', async () => {
    const ws = await startWebSocketEcho()
    const { visit } = await pluginHarness({ type: 'http_proxy', credentials: { user: 'u', password: new Secret(Buffer.from('p')) } })
    const target = `http://127.0.0.1:${ws.port}/chat`
    const refused = await exchange(visit(), upgradeHead(target, `127.0.0.1:${ws.port}`))
    expect(refused.data.toString()).toMatch(/^HTTP\/1\.1 407 /)
    const d = visit()
    const answered = readUntil(d, '\r\n\r\n')
    d.write(upgradeHead(target, `127.0.0.1:${ws.port}`, `Proxy-Authorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n`))
    expect(await answered).toMatch(/^HTTP\/1\.1 101 /)
    const echoed = await exchange(d, clientFrame('hi'), 2 + 2)
    expect(echoed.data.subarray(2).toString()).toBe('hi')
    expect(ws.upgrades).toBe(1)
  })
})
