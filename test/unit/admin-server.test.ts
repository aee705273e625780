// The generic admin HTTP server, in process: authentication (401 + WWW-Authenticate, basic and
// bearer), routing (404, 405 + Allow), request limits (413), the Host and Origin checks, the
// bind rules at start, crash answers, and what it logs (never a secret).
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { json } from '../../shared/admin/http.js'
import { AdminServer, hostOf, type AdminRoute } from '../../shared/admin/server.js'
import { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { basic, closeAdminServers, rawRequest, startAdmin } from '../helpers/admin.js'

afterEach(async () => { await closeAdminServers() })

const echoRoutes: AdminRoute[] = [
  { method: 'GET', path: '/api/status', handle: (req) => json(200, { ok: true, q: req.query.get('q') }) },
  { method: 'POST', path: '/api/reload', handle: (req) => json(200, { got: req.body.length }) },
]

const CREDS = { user: 'admin', password: 'pa55word', token: 'tok-123' }

describe('admin server: authentication', () => {
  it('answers without credentials when none are configured (loopback)', async () => {
    const { port } = await startAdmin({ routes: echoRoutes })
    const r = await rawRequest(port, { path: '/api/status?q=7' })
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ ok: true, q: '7' })
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
  })

  it('refuses a request without credentials with 401 and one challenge per scheme', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS })
    const r = await rawRequest(port)
    expect(r.status).toBe(401)
    expect(r.json).toMatchObject({ code: 'TUN_ADMIN_AUTH' })
    expect(r.distinct['www-authenticate']).toEqual(['Basic realm="tunnel", charset="UTF-8"', 'Bearer realm="tunnel"'])
    expect(r.text).not.toContain(CREDS.password)
  })

  it('accepts the right basic credentials and the right bearer token, and nothing else', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS })
    const status = async (authorization: string): Promise<number> => (await rawRequest(port, { headers: { authorization } })).status
    expect(await status(basic('admin', 'pa55word'))).toBe(200)
    expect(await status('Bearer tok-123')).toBe(200)
    expect(await status('bearer tok-123')).toBe(200)
    expect(await status(basic('admin', 'wrong'))).toBe(401)
    expect(await status(basic('root', 'pa55word'))).toBe(401)
    expect(await status(basic('admin', 'pa55word2'))).toBe(401)
    expect(await status('Bearer tok-1234')).toBe(401)
    expect(await status('Bearer')).toBe(401)
    expect(await status('Digest abc')).toBe(401)
    expect(await status(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBe(401)
  })

  it('with only a token configured, basic auth takes the token as its password (any user), so a browser can log in', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: { user: '', password: '', token: 't' } })
    const anon = await rawRequest(port)
    expect(anon.status).toBe(401)
    expect(anon.distinct['www-authenticate']).toEqual(['Basic realm="tunnel", charset="UTF-8"', 'Bearer realm="tunnel"'])
    expect((await rawRequest(port, { headers: { authorization: basic('', 't') } })).status).toBe(200)
    expect((await rawRequest(port, { headers: { authorization: basic('anyone', 't') } })).status).toBe(200)
    expect((await rawRequest(port, { headers: { authorization: basic('anyone', 'x') } })).status).toBe(401)
    expect((await rawRequest(port, { headers: { authorization: basic('', '') } })).status).toBe(401)
  })

  it('with a password and a token, basic auth takes the user with the password, or any user with the token', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS })
    const status = async (authorization: string): Promise<number> => (await rawRequest(port, { headers: { authorization } })).status
    expect(await status(basic('admin', 'pa55word'))).toBe(200)
    expect(await status(basic('someone', 'tok-123'))).toBe(200)
    expect(await status(basic('someone', 'pa55word'))).toBe(401)
  })

  it('checks credentials before revealing whether an endpoint exists', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS })
    expect((await rawRequest(port, { path: '/nope' })).status).toBe(401)
    expect((await rawRequest(port, { path: '/nope', headers: { authorization: 'Bearer tok-123' } })).status).toBe(404)
  })
})

describe('admin server: routing and limits', () => {
  it('404 for an unknown path, 405 with Allow for a known path and wrong method', async () => {
    const { port } = await startAdmin({ routes: echoRoutes })
    const missing = await rawRequest(port, { path: '/api/nothing' })
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({ code: 'TUN_ADMIN_REQUEST' })
    const wrong = await rawRequest(port, { method: 'DELETE', path: '/api/status' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('GET')
    const post = await rawRequest(port, { method: 'GET', path: '/api/reload' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('POST')
  })

  it('reads a small body and refuses a body over 64 KiB with 413', async () => {
    const { port } = await startAdmin({ routes: echoRoutes })
    expect((await rawRequest(port, { method: 'POST', path: '/api/reload', body: 'x'.repeat(100) })).json).toEqual({ got: 100 })
    const big = await rawRequest(port, { method: 'POST', path: '/api/reload', body: Buffer.alloc(65 * 1024) })
    expect(big.status).toBe(413)
  })

  it('refuses a Host that is not a loopback name (DNS rebinding) and a request from another origin', async () => {
    const { port } = await startAdmin({ routes: echoRoutes })
    const rebound = await rawRequest(port, { headers: { host: `evil.example:${port}` } })
    expect(rebound.status).toBe(421)
    expect((await rawRequest(port, { headers: { host: `localhost:${port}` } })).status).toBe(200)
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const browser = await rawRequest(port, { method: 'POST', path: '/api/reload', headers: { origin } })
      expect(browser.status, origin).toBe(403)
      expect(browser.json, origin).toMatchObject({ code: 'TUN_ADMIN_REQUEST' })
    }
  })

  it("lets the API's own pages call it: an Origin equal to http:// and its Host passes, unless the browser marks the request cross-site", async () => {
    const { port } = await startAdmin({ routes: echoRoutes })
    const own = await rawRequest(port, { method: 'POST', path: '/api/reload', body: 'x', headers: { origin: `http://127.0.0.1:${port}` } })
    expect(own.status).toBe(200)
    expect((await rawRequest(port, { headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } })).status).toBe(200)
    expect((await rawRequest(port, { headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(200)
    expect((await rawRequest(port, { headers: { 'sec-fetch-site': 'none' } })).status).toBe(200)
    for (const site of ['cross-site', 'same-site']) {
      expect((await rawRequest(port, { headers: { 'sec-fetch-site': site } })).status, site).toBe(403)
      expect((await rawRequest(port, { method: 'POST', path: '/api/reload', headers: { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } })).status, site).toBe(403)
    }
    // A person following a link to the dashboard from another site: a top-level GET navigation.
    const link = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }
    expect((await rawRequest(port, { headers: link })).status).toBe(200)
    expect((await rawRequest(port, { headers: { ...link, 'sec-fetch-dest': 'iframe' } })).status).toBe(403)
  })

  it('sends a strict Content-Security-Policy and the other safety headers with every answer', async () => {
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS })
    for (const r of [await rawRequest(port), await rawRequest(port, { headers: { authorization: 'Bearer tok-123' } })]) {
      const csp = String(r.headers['content-security-policy'])
      expect(csp).toContain("default-src 'none'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
      expect(csp).not.toContain('unsafe-eval')
      expect(csp).toContain("frame-ancestors 'none'")
      expect(r.headers['x-frame-options']).toBe('DENY')
      expect(r.headers['x-content-type-options']).toBe('nosniff')
      expect(r.headers['referrer-policy']).toBe('no-referrer')
    }
  })

  it('answers 500 without the details of a crash, and TunnelError codes as they are', async () => {
    const { port } = await startAdmin({
      routes: [
        { method: 'GET', path: '/crash', handle: () => { throw new Error('secret internals') } },
        { method: 'GET', path: '/coded', handle: () => { throw new TunnelError('TUN_DIAG_SOURCE', 'no ss') } },
      ],
    })
    const crash = await rawRequest(port, { path: '/crash' })
    expect(crash.status).toBe(500)
    expect(crash.text).not.toContain('secret internals')
    const coded = await rawRequest(port, { path: '/coded' })
    expect(coded.json).toEqual({ error: 'no ss', code: 'TUN_DIAG_SOURCE' })
  })

  it('hostOf takes the host out of a Host header', () => {
    expect(hostOf('127.0.0.1:7500')).toBe('127.0.0.1')
    expect(hostOf('[::1]:7500')).toBe('[::1]')
    expect(hostOf('localhost')).toBe('localhost')
    expect(hostOf(undefined)).toBe('')
  })
})

describe('admin server: start', () => {
  it('on a non-loopback address without credentials serves only /metrics, answers 401 to every other path, known or not, and warns once (TUN_ADMIN_INSECURE)', async () => {
    const lines: string[] = []
    const log = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
    const routes: AdminRoute[] = [...echoRoutes, { method: 'GET', path: '/metrics', handle: () => json(200, { metrics: true }) }, { method: 'GET', path: '/', handle: () => json(200, { dashboard: true }) }]
    const { port } = await startAdmin({ addr: '0.0.0.0', routes, log })
    const metrics = await rawRequest(port, { path: '/metrics?x=1', host: '127.0.0.1' })
    expect([metrics.status, metrics.json]).toEqual([200, { metrics: true }])
    for (const [method, path] of [['GET', '/'], ['GET', '/api/status'], ['POST', '/api/reload'], ['GET', '/api/nothing'], ['GET', '/metrics/x'], ['DELETE', '/api/store/proxies/a']] as const) {
      const r = await rawRequest(port, { method, path })
      expect(r.status, `${method} ${path}`).toBe(401)
      expect(r.text).toContain('set webServer.user and webServer.password (or webServer.token) to use the dashboard and /api/*')
      expect(r.headers['www-authenticate']).toContain('Basic realm=')
    }
    // Credentials cannot open the rest: there are none to match.
    expect((await rawRequest(port, { path: '/api/status', headers: { authorization: basic('', '') } })).status).toBe(401)
    const warned = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.code === 'TUN_ADMIN_INSECURE')
    expect(warned).toHaveLength(1)
    expect(String(warned[0]?.msg)).toContain('it serves only /metrics')
  })

  it('serves every route on loopback without credentials, and on any address with them', async () => {
    const { port } = await startAdmin({ addr: '127.0.0.1', routes: echoRoutes })
    expect((await rawRequest(port, { path: '/api/status' })).status).toBe(200)
    const open = await startAdmin({ addr: '0.0.0.0', routes: echoRoutes, credentials: CREDS })
    expect((await rawRequest(open.port, { path: '/api/status', headers: { authorization: basic('admin', 'pa55word') } })).status).toBe(200)
  })

  it('listens on a wildcard address once credentials are set, and answers on loopback with them', async () => {
    const { port } = await startAdmin({ addr: '0.0.0.0', routes: echoRoutes, credentials: { user: '', password: '', token: 'tok' } })
    expect((await rawRequest(port, { headers: { authorization: 'Bearer tok', host: 'admin.example' } })).status).toBe(200)
  })

  it('logs "admin listening" with addr, port and the auth schemes, never a secret', async () => {
    const lines: string[] = []
    const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } })
    const log = pino({ level: 'info' }, sink)
    const { port } = await startAdmin({ routes: echoRoutes, credentials: CREDS, log })
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'admin listening')
    expect(line).toMatchObject({ addr: '127.0.0.1', port, auth: 'basic+bearer' })
    expect(lines.join('')).not.toContain(CREDS.password)
    expect(lines.join('')).not.toContain(CREDS.token)
  })

  it('a port in use is a listen error naming the address', async () => {
    const { port } = await startAdmin({ routes: [] })
    const again = new AdminServer({ addr: '127.0.0.1', port, credentials: { user: '', password: '', token: '' }, routes: [], log: silentLogger() })
    await expect(again.start()).rejects.toMatchObject({ code: 'TUN_PORT_IN_USE' })
  })
})
