// Websites on one public port, through the real CLI: http proxies of two clients behind the
// relay's vhostHTTPPort routed by Host, a WebSocket, large streamed bodies, basic auth, the
// relay's own 404/502 pages, conflicts refused per proxy, and https routed by SNI with the
// service's own certificate (checked with curl when installed, and always with node:tls).
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, startClient, startRelay } from '../helpers/cli.js'
import { rawRequest } from '../helpers/admin.js'
import type { StatusReport } from '../../shared/admin/status.js'
import { closeHttp, httpRequest, keepAliveRequests, secureExampleCert, seenOf, startHttpService, startHttpsService, startWebSocketEcho, webSocketEcho, type Seen } from '../helpers/http.js'
import { closeServices, getFreePort } from '../helpers/services.js'
import { bench } from '../helpers/loadtest.js'
import { startVhostRelay, vhostClientYaml } from '../helpers/vhost.js'

const MB = 1024 * 1024
const BULK_BYTES = 64 * MB

afterEach(async () => {
  await cleanupCli()
  await closeHttp()
  await closeServices()
})

/** POSTs `total` random bytes in 64 KiB chunks with back-pressure; resolves with the reply and the sent digest. */
function streamUpload (port: number, host: string, total: number): Promise<{ seen: Seen, sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    const block = randomBytes(64 * 1024)
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false, headers: { Host: host } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { resolve({ seen: JSON.parse(Buffer.concat(parts).toString()) as Seen, sha256: hash.digest('hex') }) })
    })
    req.on('error', reject)
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        const chunk = Buffer.from(block)
        chunk.writeUInt32BE(sent >>> 0, 0)
        hash.update(chunk)
        sent += chunk.length
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
}

/** GETs /bytes/N and checks the body against the service's X-Sha256 as it streams. */
function streamDownload (port: number, host: string, total: number): Promise<{ bytes: number, ok: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/bytes/${total}`, agent: false, headers: { Host: host } }, (res) => {
      const hash = createHash('sha256')
      let bytes = 0
      res.on('data', (c: Buffer) => { hash.update(c); bytes += c.length })
      res.on('end', () => { resolve({ bytes, ok: hash.digest('hex') === res.headers['x-sha256'] }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

function run (cmd: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

async function hasCurl (): Promise<boolean> {
  return (await run('curl', ['--version'])).code === 0
}

describe('http and https virtual hosts', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('routes two clients\' services by Host on one port, per request of a keep-alive connection, and refuses a domain claimed twice', async () => {
    const relay = await startVhostRelay()
    const a = await startHttpService('a')
    const b = await startHttpService('b')
    const c = await startHttpService('c')
    const one = await startClient(vhostClientYaml(relay.port, [{ name: 'site-a', type: 'http', localPort: a.port, extra: ['customDomains: [a.example.test]'] }]))
    const two = await startClient(vhostClientYaml(relay.port, [{ name: 'site-b', type: 'http', localPort: b.port, extra: ['customDomains: ["*.b.example.test"]', 'locations: [/]'] }]))
    expect(one.ports.get('site-a')).toBe(relay.http)
    expect(two.ports.get('site-b')).toBe(relay.http)

    const ra = seenOf(await httpRequest(relay.http, `a.example.test:${relay.http}`, '/hello'))
    expect(ra).toMatchObject({ service: 'a', url: '/hello' })
    expect(ra.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(ra.headers['x-real-ip']).toBe('127.0.0.1')
    expect(seenOf(await httpRequest(relay.http, 'www.B.example.test')).service).toBe('b')

    const req = (host: string): string => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`
    const bodies = await keepAliveRequests(relay.http, [req('a.example.test'), req('x.b.example.test'), req('a.example.test')])
    expect(bodies.map((x) => (JSON.parse(x) as Seen).service)).toEqual(['a', 'b', 'a'])

    // A third client claims a's domain: that proxy alone is refused, with a clear error (the
    // domain belongs to a's client).
    const three = await startClient(vhostClientYaml(relay.port, [
      { name: 'thief', type: 'http', localPort: c.port, extra: ['customDomains: [a.example.test]'] },
      { name: 'site-c', type: 'http', localPort: c.port, extra: ['customDomains: [c.example.test]'] },
    ]))
    expect(three.refused.get('thief')).toBe('TUN_DOMAIN_OWNED')
    const refusal = await three.handle.waitForLog((l) => l.proxy === 'thief' && String(l.msg).startsWith('proxy refused by the relay'))
    expect(String(refusal.msg)).toContain('http domain a.example.test belongs to another client')
    expect(seenOf(await httpRequest(relay.http, 'c.example.test')).service).toBe('c')
    expect(seenOf(await httpRequest(relay.http, 'a.example.test')).service).toBe('a')

    // The owner leaves: its routes go with it.
    one.handle.kill('SIGTERM')
    await one.handle.exit
    expect((await httpRequest(relay.http, 'a.example.test')).status).toBe(404)
  })

  it('passes a WebSocket echo and large streamed bodies both ways, and the relay\'s status counts their bytes', async () => {
    const relay = await startVhostRelay('webServer:\n  port: 0\n  token: vt\n')
    const ws = await startWebSocketEcho()
    const files = await startHttpService('files')
    await startClient(vhostClientYaml(relay.port, [
      { name: 'ws', type: 'http', localPort: ws.port, extra: ['customDomains: [ws.example.test]'] },
      { name: 'files', type: 'http', localPort: files.port, extra: ['customDomains: [files.example.test]'] },
    ]))
    const messages = ['hello', 'ünïcødé', 'x'.repeat(200_000)]
    const { echoes, accept } = await webSocketEcho(relay.http, 'ws.example.test', messages)
    expect(echoes).toEqual(messages)
    expect(accept).not.toMatch(/mismatch/)

    const up = await streamUpload(relay.http, 'files.example.test', BULK_BYTES)
    expect(up.seen).toMatchObject({ service: 'files', method: 'POST', bodyBytes: BULK_BYTES, bodySha256: up.sha256 })
    expect(await streamDownload(relay.http, 'files.example.test', BULK_BYTES)).toEqual({ bytes: BULK_BYTES, ok: true })

    const admin = Number((await relay.handle.waitForLog(logMsg('admin listening'))).port)
    const status = await pollUntil(async () => {
      const r = await rawRequest(admin, { headers: { authorization: 'Bearer vt' } })
      const p = (r.json as StatusReport).proxies.find((x) => x.name === 'files')
      return p !== undefined && p.streams?.active === 0 ? p : undefined // the pooled streams have ended
    }, { timeoutMs: 40_000, intervalMs: 200 })
    expect(status).toMatchObject({ type: 'http', state: 'listening', publicAddr: `files.example.test:${relay.http}` })
    // Payload plus the HTTP heads (a few hundred bytes a request).
    expect(status.bytesIn).toBeGreaterThan(BULK_BYTES)
    expect(status.bytesIn).toBeLessThan(BULK_BYTES + 64 * 1024)
    expect(status.bytesOut).toBeGreaterThan(BULK_BYTES)
    expect(status.streams?.total).toBeGreaterThan(0)
  })

  it('answers an unknown host with a 404 page naming it, a dead service with 502, and asks for basic auth', async () => {
    const relay = await startVhostRelay()
    const svc = await startHttpService('private')
    const dead = await getFreePort()
    const client = await startClient(vhostClientYaml(relay.port, [
      { name: 'private', type: 'http', localPort: svc.port, extra: ['customDomains: [private.example.test]', 'httpUser: alice', 'httpPassword: "p@ss: word"'] },
      { name: 'dead', type: 'http', localPort: dead, extra: ['customDomains: [dead.example.test]'] },
    ]))
    const unknown = await httpRequest(relay.http, 'nobody.example.test')
    expect(unknown.status).toBe(404)
    expect(unknown.body.toString()).toContain('nobody.example.test')

    expect((await httpRequest(relay.http, 'dead.example.test')).status).toBe(502)

    const refused = await httpRequest(relay.http, 'private.example.test')
    expect(refused.status).toBe(401)
    expect(refused.headers['www-authenticate']).toContain('Basic')
    expect(svc.requests).toHaveLength(0)
    const auth = `Basic ${Buffer.from('alice:p@ss: word').toString('base64')}`
    const ok = await httpRequest(relay.http, 'private.example.test', '/', { headers: { Authorization: auth } })
    expect(ok.status).toBe(200)
    expect(seenOf(ok).headers.authorization).toBeUndefined()
    // The password is in neither process's log.
    expect(relay.handle.stderr()).not.toContain('p@ss')
    expect(client.handle.stderr()).not.toContain('p@ss')
  })

  it('tunnel bench http loads a website through the vhost port by its name', async () => {
    const relay = await startVhostRelay()
    const svc = await startHttpService('site')
    await startClient(vhostClientYaml(relay.port, [{ name: 'site', type: 'http', localPort: svc.port, extra: ['customDomains: [site.example.test]'] }]))
    const { code, report } = await bench(['http', '--target', `127.0.0.1:${relay.http}`, '--host', 'site.example.test', '-c', '4', '-n', '400', '-d', '20'])
    expect(code).toBe(0)
    expect(report.counts).toEqual({ issued: 400, ok: 400, failed: 0, abandoned: 0 })
    expect(svc.requests).toHaveLength(400)
    expect(svc.requests[0]?.headers.host).toBe('site.example.test')
    // Without the name the relay has no site to route to: every request is a 404 (a status error).
    const unnamed = await bench(['http', '--target', `127.0.0.1:${relay.http}`, '-c', '1', '-n', '5', '-d', '20'])
    expect(unnamed.report.errors).toMatchObject({ status: 5 })
  })

  it('routes https by SNI without terminating TLS: the visitor gets the service\'s own certificate', async () => {
    const relay = await startVhostRelay()
    const cert = secureExampleCert()
    const svc = await startHttpsService('secure', cert)
    await startClient(vhostClientYaml(relay.port, [{ name: 'secure', type: 'https', localPort: svc.port, extra: ['customDomains: [secure.example.test]'] }]))

    const peer = await new Promise<{ cn: string, fingerprint: string }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: relay.https, servername: 'secure.example.test', ca: cert.cert }, () => {
        const c = s.getPeerCertificate()
        resolve({ cn: String(c.subject.CN), fingerprint: c.fingerprint256 })
        s.end()
      })
      s.on('error', reject)
    })
    expect(peer.cn).toBe('secure.example.test')
    const { X509Certificate } = await import('node:crypto')
    expect(peer.fingerprint).toBe(new X509Certificate(cert.cert).fingerprint256)

    const unknown = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: relay.https, servername: 'other.example.test', rejectUnauthorized: false })
      s.on('error', (err: Error) => { resolve(err.message) })
      s.on('secureConnect', () => { resolve('connected'); s.destroy() })
    })
    expect(unknown).toMatch(/unrecognized name/i)

    if (!(await hasCurl())) {
      console.info('curl is not installed: the curl --resolve check was skipped (node:tls checked the same above)')
      return
    }
    const r = await run('curl', ['-sS', '-k', '-v', '--resolve', `secure.example.test:${relay.https}:127.0.0.1`, `https://secure.example.test:${relay.https}/via-curl`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ service: 'secure', servername: 'secure.example.test', url: '/via-curl' })
    expect(r.stderr).toMatch(/subject: CN\s?=\s?secure\.example\.test/)
  })

  it('refuses http proxies on a relay without vhostHTTPPort, and subdomain without subDomainHost', async () => {
    const plain = await startRelay()
    const svc = await startHttpService('s')
    const c1 = await startClient(vhostClientYaml(plain.port, [{ name: 'web', type: 'http', localPort: svc.port, extra: ['customDomains: [a.example.test]'] }]))
    expect(c1.refused.get('web')).toBe('TUN_VHOST_UNAVAILABLE')
    const relay = await startVhostRelay()
    const c2 = await startClient(vhostClientYaml(relay.port, [{ name: 'sub', type: 'http', localPort: svc.port, extra: ['subdomain: home'] }]))
    expect(c2.refused.get('sub')).toBe('TUN_PROXY_INVALID')
    await c2.handle.waitForLog((l) => l.proxy === 'sub' && String(l.msg).includes('needs subDomainHost'))
    // The relay's own line (its stderr may be read a moment after the client's).
    await relay.handle.waitForLog(logMsg('proxy refused: subdomain "home" needs subDomainHost in the relay\'s frps.yml, which it does not set; use customDomains'), 5_000)
  })
})
