// The relay's vhost ports in one process: a Vhosts on real loopback ports, a mux session pair
// standing in for relay and client, the client's TcpForwarder dialling real services. Routing,
// header rewriting, auth, error pages and their counters, pooling, upgrades and SNI routing.
import { connect as tlsConnect } from 'node:tls'
import { connect } from 'node:net'
import { request } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TcpForwarder } from '../../client/tcp-forwarder.js'
import { Vhosts, type VhostSettings } from '../../server/vhost/vhosts.js'
import { ALERT_UNRECOGNIZED_NAME } from '../../server/vhost/https-vhost.js'
import { silentLogger } from '../../shared/log.js'
import { ResetCode } from '../../shared/wire/frame.js'
import type { HttpProxySpec, HttpsProxySpec } from '../../shared/wire/proxy-spec.js'
import { closeHttp, httpRequest, keepAliveRequests, secureExampleCert, seenOf, startHttpService, startHttpsService, startWebSocketEcho, webSocketEcho, type Seen } from '../helpers/http.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { getFreePort, startServer } from '../helpers/services.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'

/** The forwarder's view of a tcp proxy to 127.0.0.1:localPort (no limits, no PROXY header). */
const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })

const log = silentLogger()
const beds: Array<{ pair: MuxPair, vhosts: Vhosts }> = []

afterEach(async () => {
  vi.useRealTimers()
  for (const b of beds.splice(0)) { b.vhosts.destroy(); b.pair.close() }
  await closeHttp()
})

/**
 * Fake setTimeout for the relay's response-header timer; the bytes still move for real. Waits
 * for them with setImmediate turns (expect.poll would move the fake clock while it waits).
 */
function fakeTimeouts (): { settled: (cond: () => boolean) => Promise<void> } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  return {
    settled: async (cond) => {
      const giveUp = performance.now() + 10_000
      while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
      expect(cond()).toBe(true)
    },
  }
}

async function bed (settings: Partial<VhostSettings> = {}) {
  const pair = await muxPair()
  const vhosts = new Vhosts({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, subDomainHost: 'example.test', responseHeaderTimeoutMs: 10_000, custom404Page: null, ...settings }, log)
  await vhosts.start()
  beds.push({ pair, vhosts })
  const forwarders = new Map<string, TcpForwarder>()
  pair.client.on('stream', (s) => {
    const f = s.open === undefined ? undefined : forwarders.get(s.open.proxy)
    if (f === undefined) s.reset(ResetCode.REFUSED)
    else f.handle(s)
  })
  const add = (spec: HttpProxySpec | HttpsProxySpec, localPort: number) => {
    forwarders.set(spec.name, new TcpForwarder(tcpTarget(localPort), log))
    return vhosts.open(spec, pair.server, log, 'the-client')
  }
  return { pair, vhosts, add, http: vhosts.httpPort ?? 0, https: vhosts.httpsPort ?? 0 }
}

/** Polls `cond` every 10 ms for at most 5 s. */
async function waitUntil (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(cond()).toBe(true)
}

const http = (name: string, customDomains: string[], more: Partial<HttpProxySpec> = {}): HttpProxySpec => ({ name, type: 'http', customDomains, locations: [], ...more })

describe('http vhost routing', () => {
  it('routes by Host (case, port and trailing dot ignored) and by wildcard, and 404s the rest', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    const w = await startHttpService('w')
    b.add(http('a', ['a.example.test']), a.port)
    b.add(http('w', ['*.wild.test']), w.port)
    expect(seenOf(await httpRequest(b.http, 'A.Example.Test.:8080')).service).toBe('a')
    expect(seenOf(await httpRequest(b.http, 'x.y.wild.test')).service).toBe('w')
    const miss = await httpRequest(b.http, 'wild.test')
    expect(miss.status).toBe(404)
    expect(miss.body.toString()).toContain('wild.test')
    expect(miss.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(b.vhosts.stats.http).toMatchObject({ requests: 3, notFound: 1 })
  })

  it('routes each request of one keep-alive connection by its own Host', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    const c = await startHttpService('c')
    b.add(http('a', ['a.example.test']), a.port)
    b.add(http('c', ['c.example.test']), c.port)
    const req = (host: string): string => `GET /${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`
    const bodies = await keepAliveRequests(b.http, [req('a.example.test'), req('c.example.test'), req('a.example.test'), req('nobody.test')])
    expect(bodies.slice(0, 3).map((x) => (JSON.parse(x) as Seen).service)).toEqual(['a', 'c', 'a'])
    expect(bodies[3]).toContain('404')
  })

  it('takes the longest matching location, on the decoded and normalised path', async () => {
    const b = await bed()
    const root = await startHttpService('root')
    const api = await startHttpService('api')
    const v2 = await startHttpService('v2')
    b.add(http('root', ['site.test']), root.port)
    b.add(http('api', ['site.test'], { locations: ['/api'] }), api.port)
    b.add(http('v2', ['site.test'], { locations: ['/api/v2/'] }), v2.port)
    const svc = async (path: string): Promise<string> => seenOf(await httpRequest(b.http, 'site.test', path)).service
    expect(await svc('/')).toBe('root')
    expect(await svc('/api')).toBe('api')
    expect(await svc('/api/v2')).toBe('api')
    expect(await svc('/api/v2/x?q=1')).toBe('v2')
    expect(await svc('/%61pi/v2/x')).toBe('v2')
    expect(await svc('//api/v2/../v2/x')).toBe('v2')
    expect(await svc('/x/../api')).toBe('api')
    // the request line reaches the service unchanged
    expect(seenOf(await httpRequest(b.http, 'site.test', '/%61pi/v2/x')).url).toBe('/%61pi/v2/x')
  })

  it('sets X-Forwarded-For (appended), X-Real-IP, X-Forwarded-Proto/Host and drops hop-by-hop headers', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const seen = seenOf(await httpRequest(b.http, 'a.example.test:81', '/', { headers: { 'X-Forwarded-For': '203.0.113.9', Connection: 'keep-alive, X-Drop-Me', 'X-Drop-Me': '1', 'Proxy-Authorization': 'Basic eDp5', 'X-Keep': 'yes' } }))
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1')
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1')
    expect(seen.headers['x-forwarded-proto']).toBe('http')
    expect(seen.headers['x-forwarded-host']).toBe('a.example.test:81')
    expect(seen.headers.host).toBe('a.example.test:81')
    expect(seen.headers['x-keep']).toBe('yes')
    expect(seen.headers['x-drop-me']).toBeUndefined()
    expect(seen.headers['proxy-authorization']).toBeUndefined()
  })

  it('gives an IPv4 visitor of a dual-stack port as plain IPv4 (no ::ffff:)', async () => {
    const b = await bed({ host: '::' })
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const seen = seenOf(await httpRequest(b.http, 'a.example.test'))
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1')
  })

  it('applies hostHeaderRewrite, requestHeaders.set and responseHeaders.set', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test'], { hostHeaderRewrite: 'internal.lan', requestHeaders: { 'X-From': 'relay' }, responseHeaders: { 'X-Service': 'masked', 'X-Extra': '1' } }), a.port)
    const reply = await httpRequest(b.http, 'a.example.test', '/', { headers: { 'X-From': 'visitor' } })
    const seen = seenOf(reply)
    expect(seen.headers.host).toBe('internal.lan')
    expect(seen.headers['x-forwarded-host']).toBe('a.example.test')
    expect(seen.headers['x-from']).toBe('relay')
    expect(reply.headers['x-service']).toBe('masked')
    expect(reply.headers['x-extra']).toBe('1')
  })

  it('asks for basic auth, never passes the credentials on, and counts refusals', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test'], { httpUser: 'alice', httpPassword: 's3cret' }), a.port)
    const none = await httpRequest(b.http, 'a.example.test')
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="a\.example\.test"/)
    const wrong = await httpRequest(b.http, 'a.example.test', '/', { headers: { Authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } })
    expect(wrong.status).toBe(401)
    const ok = await httpRequest(b.http, 'a.example.test', '/', { headers: { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } })
    expect(ok.status).toBe(200)
    expect(seenOf(ok).headers.authorization).toBeUndefined()
    expect(a.requests).toHaveLength(1)
    expect(b.vhosts.stats.http.unauthorized).toBe(2)
  })

  it('refuses with 401 before the body when Expect: 100-continue has no credentials', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test'], { httpUser: 'u', httpPassword: 'p' }), a.port)
    const socket = connect({ host: '127.0.0.1', port: b.http })
    const head = await new Promise<string>((resolve, reject) => {
      let text = ''
      socket.on('data', (c: Buffer) => { text += c.toString('latin1'); if (text.includes('\r\n\r\n')) resolve(text) })
      socket.on('error', reject)
      socket.write('POST / HTTP/1.1\r\nHost: a.example.test\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n')
    })
    socket.destroy()
    expect(head.startsWith('HTTP/1.1 401')).toBe(true)
    expect(head).toMatch(/\r\nconnection: close\r\n/i)
    expect(a.requests).toHaveLength(0)
  })

  it('answers 502 when the service is down and 504 when it is silent, counting both', async () => {
    const b = await bed({ responseHeaderTimeoutMs: 300 })
    const downPort = await getFreePort()
    b.add(http('down', ['down.test']), downPort)
    const silent = await startHttpService('silent')
    silent.server.removeAllListeners('request')
    silent.server.on('request', () => { /* never answers */ })
    b.add(http('silent', ['silent.test']), silent.port)
    const down = await httpRequest(b.http, 'down.test')
    expect(down.status).toBe(502)
    expect(down.body.toString()).toContain('down.test')
    expect((await httpRequest(b.http, 'silent.test')).status).toBe(504)
    expect(b.vhosts.stats.http).toMatchObject({ badGateway: 1, gatewayTimeout: 1 })
  })

  it('does not time out a response that began before the request body was complete', async () => {
    const b = await bed({ responseHeaderTimeoutMs: 150 })
    const svc = await startHttpService('early')
    svc.server.removeAllListeners('request')
    svc.server.on('request', (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write('start;')
      req.resume()
      req.on('end', () => { res.end('done') })
    })
    b.add(http('early', ['early.test']), svc.port)
    const time = fakeTimeouts()
    let began = false
    const reply = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: b.http, method: 'POST', path: '/', agent: false, headers: { Host: 'early.test', 'Transfer-Encoding': 'chunked' } }, (res) => {
        began = true
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { text += c })
        res.on('end', () => { resolve(text) })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.write('a')
      // The response began; the body then takes many response-header timeouts to complete.
      void time.settled(() => began).then(async () => {
        await vi.advanceTimersByTimeAsync(1_000)
        req.write('b')
        await vi.advanceTimersByTimeAsync(1_000)
        req.end('c')
      })
    })
    expect(await reply).toBe('start;done')
    expect(b.vhosts.stats.http.gatewayTimeout).toBe(0)
  })

  it('reuses idle streams to a service, and drops them when the service closes them', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    for (let i = 0; i < 5; i++) expect((await httpRequest(b.http, 'a.example.test')).status).toBe(200)
    expect(a.connections).toBe(1)
    a.server.closeIdleConnections()
    await expect.poll(() => b.pair.server.streamCount).toBe(0) // the relay saw the stream close
    expect((await httpRequest(b.http, 'a.example.test')).status).toBe(200)
    expect(a.connections).toBe(2)
  })

  it('closing a proxy closes its idle streams at once and busy ones after their response', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    let release: (() => void) | undefined
    const p = b.add(http('a', ['a.example.test']), a.port)
    expect((await httpRequest(b.http, 'a.example.test')).status).toBe(200)
    expect(b.pair.server.streamCount).toBe(1)
    // A second service answers only when told: its stream is busy when the proxy closes.
    const slow = await startServer((socket) => {
      socket.once('data', () => { release = () => { socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow') } })
    })
    const q = b.add(http('slow', ['slow.test']), slow.port)
    const pending = httpRequest(b.http, 'slow.test')
    await waitUntil(() => release !== undefined)
    p.close()
    q.close()
    expect(b.pair.server.streamCount).toBe(1) // a's idle stream is gone, slow's is busy
    release?.()
    expect((await pending).body.toString()).toBe('slow')
    await waitUntil(() => b.pair.server.streamCount === 0)
    expect((await httpRequest(b.http, 'a.example.test')).status).toBe(404)
  })

  it('retries a bodiless request once when the service drops the reused connection it arrived on', async () => {
    const b = await bed()
    // Answers the first request of each connection, then closes on the next one unanswered (a
    // service whose idle timeout hit just as the request arrived).
    let connections = 0
    const svc = await startServer((socket) => {
      connections++
      let requests = 0
      socket.on('data', (c: Buffer) => {
        if (!c.includes('\r\n\r\n')) return
        if (++requests > 1) { socket.destroy(); return }
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok')
      })
    })
    b.add(http('r', ['r.test']), svc.port)
    expect((await httpRequest(b.http, 'r.test')).status).toBe(200)
    expect((await httpRequest(b.http, 'r.test')).status).toBe(200)
    expect(connections).toBe(2)
    // With a body, nothing is retried: the body may be half sent.
    expect((await httpRequest(b.http, 'r.test', '/', { method: 'POST', body: 'data' })).status).toBe(502)
  })

  it('streams a request body and a response body both ways intact', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 7)
    const up = seenOf(await httpRequest(b.http, 'a.example.test', '/up', { method: 'POST', body }))
    expect(up.bodyBytes).toBe(body.length)
    const down = await httpRequest(b.http, 'a.example.test', `/bytes/${5 * 1024 * 1024}`)
    expect(down.body.length).toBe(5 * 1024 * 1024)
    const { createHash } = await import('node:crypto')
    expect(createHash('sha256').update(down.body).digest('hex')).toBe(down.headers['x-sha256'])
  })

  it('passes a WebSocket upgrade through and counts it', async () => {
    const b = await bed()
    const ws = await startWebSocketEcho()
    b.add(http('ws', ['ws.test']), ws.port)
    const { echoes, accept } = await webSocketEcho(b.http, 'ws.test', ['hello', 'x'.repeat(70_000)])
    expect(echoes).toEqual(['hello', 'x'.repeat(70_000)])
    expect(accept).not.toMatch(/mismatch/)
    expect(b.vhosts.stats.http.upgrades).toBe(1)
  })

  it('refuses a second claim of a domain and location, and frees it when the owner closes', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    const first = b.add(http('a', ['a.example.test', 'b.example.test']), a.port)
    expect(() => b.add(http('a2', ['b.example.test']), a.port)).toThrow(expect.objectContaining({ code: 'TUN_VHOST_CONFLICT', message: expect.stringContaining('b.example.test (location /) is already served by proxy a of this client') }))
    // Another location of the same domain is a different claim.
    b.add(http('a3', ['b.example.test'], { locations: ['/x'] }), a.port)
    // Nothing of the refused proxy was kept.
    expect(seenOf(await httpRequest(b.http, 'a.example.test')).service).toBe('a')
    first.close()
    expect((await httpRequest(b.http, 'a.example.test')).status).toBe(404)
    b.add(http('a2', ['b.example.test']), a.port)
  })

  it('refuses bad registrations for that proxy alone', async () => {
    const b = await bed({ subDomainHost: '' })
    expect(() => b.add(http('s', [], { subdomain: 'x' }), 1)).toThrow(expect.objectContaining({ code: 'TUN_PROXY_INVALID', message: expect.stringContaining('needs subDomainHost') }))
    expect(() => b.add(http('d', ['bad domain']), 1)).toThrow(expect.objectContaining({ code: 'TUN_PROXY_INVALID' }))
    expect(() => b.add(http('l', ['ok.test'], { locations: ['api'] }), 1)).toThrow(expect.objectContaining({ code: 'TUN_PROXY_INVALID', message: expect.stringContaining('must start with /') }))
    expect(() => b.add(http('h', ['ok.test'], { requestHeaders: { 'Bad Name': 'x' } }), 1)).toThrow(expect.objectContaining({ code: 'TUN_PROXY_INVALID' }))
    expect(() => b.add(http('n', []), 1)).toThrow(expect.objectContaining({ code: 'TUN_PROXY_INVALID', message: expect.stringContaining('needs customDomains or subdomain') }))
  })

  it('answers 403 to visitors the proxy\'s source filter refuses', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('open', ['open.test'], { allowSources: ['127.0.0.0/8'] }), a.port)
    b.add(http('closed', ['closed.test'], { denySources: ['127.0.0.1'] }), a.port)
    expect((await httpRequest(b.http, 'open.test')).status).toBe(200)
    const refused = await httpRequest(b.http, 'closed.test')
    expect(refused.status).toBe(403)
    expect(a.requests).toHaveLength(1)
    expect(b.vhosts.stats.http.forbidden).toBe(1)
  })

  it('serves subdomain under subDomainHost', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    const p = b.add(http('a', [], { subdomain: 'Home' }), a.port)
    expect(p.domains).toEqual(['home.example.test'])
    expect(seenOf(await httpRequest(b.http, 'home.example.test')).service).toBe('a')
  })

  it('answers 400 for a request without a usable Host', async () => {
    const b = await bed()
    const bodies = await keepAliveRequests(b.http, ['GET / HTTP/1.1\r\nHost: bad host!\r\n\r\n']).catch((err: Error) => [err.message])
    expect(bodies[0]).toContain('400')
    expect(b.vhosts.stats.http.badRequest).toBe(1)
  })
})

describe('https vhost (SNI)', () => {
  it('routes by server name without terminating TLS: the visitor sees the service\'s certificate', async () => {
    const b = await bed()
    const cert = secureExampleCert()
    const svc = await startHttpsService('secure', cert)
    const spec: HttpsProxySpec = { name: 's', type: 'https', customDomains: ['secure.example.test'] }
    b.add(spec, svc.port)
    const subject = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: b.https, servername: 'secure.example.test', ca: cert.cert }, () => {
        resolve(String(s.getPeerCertificate().subject.CN))
        s.end()
      })
      s.on('error', reject)
    })
    expect(subject).toBe('secure.example.test')
    expect(b.vhosts.stats.https).toMatchObject({ connections: 1, routed: 1 })
  })

  it('answers an unknown server name with an unrecognized_name alert and closes plain text at once', async () => {
    const b = await bed()
    const alert = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: b.https, servername: 'unknown.test', rejectUnauthorized: false })
      s.on('error', (err: Error) => { resolve(err.message) })
    })
    expect(alert).toMatch(/unrecognized name/i)
    const closed = await new Promise<Buffer>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: b.https }, () => { s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n') })
      const got: Buffer[] = []
      s.on('data', (c: Buffer) => got.push(c))
      s.on('error', () => {})
      s.on('close', () => { resolve(Buffer.concat(got)) })
    })
    expect(closed.length).toBe(0)
    expect(b.vhosts.stats.https).toMatchObject({ unknownHost: 1, badHello: 1 })
    expect(ALERT_UNRECOGNIZED_NAME[6]).toBe(112)
  })
})

describe('http vhost against hostile or odd requests', () => {
  it('keeps Content-Length when the visitor names it in Connection: the body cannot become a second request', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const inner = 'GET /admin/secret HTTP/1.1\r\nHost: a.example.test\r\nX-Real-IP: 6.6.6.6\r\n\r\n'
    const outer = `GET /outer HTTP/1.1\r\nHost: a.example.test\r\nConnection: content-length\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`
    const [body] = await keepAliveRequests(b.http, [outer])
    expect((JSON.parse(body ?? '{}') as Seen)).toMatchObject({ url: '/outer', bodyBytes: inner.length })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(a.requests.map((r) => r.url)).toEqual(['/outer'])
  })

  it('does not send a request again after its response timed out, and answers 504 after one timeout', async () => {
    const b = await bed({ responseHeaderTimeoutMs: 300 })
    const seen: string[] = []
    const svc = await startHttpService('h')
    svc.server.removeAllListeners('request')
    svc.server.on('request', (req, res) => { seen.push(req.url ?? ''); if (req.url === '/warm') res.end('ok') })
    b.add(http('h', ['h.example.test']), svc.port)
    const time = fakeTimeouts()
    let replies: string[] | undefined
    const done = keepAliveRequests(b.http, ['GET /warm HTTP/1.1\r\nHost: h.example.test\r\n\r\n', 'GET /hang HTTP/1.1\r\nHost: h.example.test\r\n\r\n']).then((r) => { replies = r })
    await time.settled(() => seen.length === 2)
    await vi.advanceTimersByTimeAsync(299)
    expect(replies).toBeUndefined()
    // One timeout, then the 504: the request was not sent again (which would need a second timeout).
    await vi.advanceTimersByTimeAsync(1)
    await done
    expect(replies?.[0]).toBe('ok')
    expect(replies?.[1]).toContain('did not answer in time')
    expect(seen).toEqual(['/warm', '/hang'])
    expect(b.vhosts.stats.http.gatewayTimeout).toBe(1)
  })

  it('refuses an upgrade that carries a body (400) instead of dropping the body', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const req = 'POST /up HTTP/1.1\r\nHost: a.example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nContent-Length: 5\r\n\r\nhello'
    const [reply] = await keepAliveRequests(b.http, [req]).catch((err: Error) => [err.message])
    expect(reply).toContain('cannot carry a request body')
    expect(a.requests).toEqual([])
    expect(b.vhosts.stats.http.badRequest).toBe(1)
  })

  it('answers and counts what cannot be parsed as HTTP, and does not count a visitor that leaves as a 502', async () => {
    const b = await bed()
    const raw = connect({ host: '127.0.0.1', port: b.http })
    const chunks: Buffer[] = []
    raw.on('data', (c: Buffer) => chunks.push(c))
    raw.write('NOT HTTP AT ALL\r\n\r\n')
    await new Promise((resolve) => raw.once('close', resolve))
    expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1\.1 400 [\s\S]*could not be read as HTTP\/1\.1/)
    expect(b.vhosts.stats.http.badRequest).toBe(1)

    const slow = await startHttpService('slow')
    slow.server.removeAllListeners('request')
    let reached = false
    slow.server.on('request', () => { reached = true /* and answers never */ })
    b.add(http('slow', ['slow.example.test']), slow.port)
    const leaver = connect({ host: '127.0.0.1', port: b.http })
    leaver.on('error', () => {})
    leaver.write('GET / HTTP/1.1\r\nHost: slow.example.test\r\n\r\n')
    await waitUntil(() => reached) // the request is at the service, its stream open
    leaver.destroy()
    await waitUntil(() => b.pair.server.streamCount === 0) // the relay has seen the visitor go
    expect(b.vhosts.stats.http.badGateway).toBe(0)
  })
})
