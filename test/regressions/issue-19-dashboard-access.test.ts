// Who may see the dashboards (issue 19), against the real CLI: the page, its code and its data
// endpoints answer 401 without credentials; a foreign Origin or a non-loopback Host on a
// loopback bind is refused as for the rest of the API; the page names no other host, loads its
// code from the package and runs under a CSP that forbids inline scripts; the client's config
// editor is off without credentials.
import { afterEach, describe, expect, it } from 'vitest'
import { dashboardRoutes } from '../../shared/admin/index.js'
import { basic, rawRequest } from '../helpers/admin.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, getFreePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const PAGES = ['/', '/assets/dashboard.js', '/assets/dashboard.css', '/assets/icon.svg', '/api/history', '/api/status', '/api/diag']
const AUTH = basic('admin', 'dash-pass')

/** Every URL the page makes the browser load (src and href attributes). */
const urlsOf = (html: string): string[] => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '')

describe('dashboard access (issue 19)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('answers 401 without credentials, 403 to a foreign Origin, 421 to a non-loopback Host, and serves the page with them', async () => {
    const admin = await getFreePort()
    const relay = await startRelay({ extraYaml: `webServer:\n  port: ${admin}\n  user: admin\n  password: dash-pass` })
    // The relay opens its admin API after its control port.
    await relay.handle.waitForLog(logMsg('admin listening'))
    for (const path of PAGES) {
      const anon = await rawRequest(admin, { path })
      expect(anon.status, path).toBe(401)
      expect(anon.json, path).toMatchObject({ code: 'TUN_ADMIN_AUTH' })
      expect(anon.headers['www-authenticate'], path).toContain('Basic')
      expect(anon.text, path).not.toContain('<script')
      const foreign = await rawRequest(admin, { path, headers: { authorization: AUTH, origin: 'http://evil.example' } })
      expect(foreign.status, path).toBe(403)
      const rebound = await rawRequest(admin, { path, headers: { authorization: AUTH, host: `evil.example:${admin}` } })
      expect(rebound.status, path).toBe(421)
    }
    const page = await rawRequest(admin, { path: '/', headers: { authorization: AUTH } })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.text).toContain('data-role="relay"')
    // The page's code and style come from the package, by relative URLs; no other host anywhere.
    expect(urlsOf(page.text).sort()).toEqual(['assets/dashboard.css', 'assets/dashboard.js', 'assets/icon.svg'])
    expect(page.text).not.toMatch(/https?:\/\/|\/\//)
    // No inline script: every script element has a src and no body.
    expect([...page.text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].every((m) => m[0].includes(' src=') && m[1] === '')).toBe(true)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("default-src 'none'")
    const js = await rawRequest(admin, { path: '/assets/dashboard.js', headers: { authorization: AUTH } })
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.text.length).toBeGreaterThan(1000)
    const css = await rawRequest(admin, { path: '/assets/dashboard.css', headers: { authorization: AUTH } })
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    // The page's own requests (same Origin) pass.
    const own = await rawRequest(admin, { path: '/api/history', headers: { authorization: AUTH, origin: `http://127.0.0.1:${admin}` } })
    expect(own.status).toBe(200)
    expect(own.json).toMatchObject({ intervalMs: 10_000, proxies: [] })
  })

  it('the client\'s config editor needs credentials on the API: 403 without them, the file with them', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const open = await getFreePort()
    const noCreds = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `webServer:\n  port: ${open}`, proxies: [{ name: 'e1', localPort: echo.port, remotePort: await getFreePort() }] }))
    expect(noCreds.ports.size).toBe(1)
    expect((await rawRequest(open, { path: '/' })).status).toBe(200)
    const locked = await rawRequest(open, { path: '/api/config' })
    expect(locked.status).toBe(403)
    expect(locked.json).toMatchObject({ code: 'TUN_ADMIN_CONFIG_LOCKED' })
    expect(locked.text).not.toContain('e2e-test-token')
    expect((await rawRequest(open, { method: 'POST', path: '/api/config/check', body: 'x' })).status).toBe(403)

    const guarded = await getFreePort()
    const withToken = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `webServer:\n  port: ${guarded}\n  token: edit-token`, proxies: [{ name: 'e2', localPort: echo.port, remotePort: await getFreePort() }] }))
    expect((await rawRequest(guarded, { path: '/api/config' })).status).toBe(401)
    // A browser logs in with any user name and the token as its password.
    const file = await rawRequest(guarded, { path: '/api/config', headers: { authorization: basic('me', 'edit-token') } })
    expect(file.status).toBe(200)
    expect(file.json).toMatchObject({ file: withToken.configPath, format: 'yaml', text: expect.stringContaining('name: "e2"') })
  })

  it('a package built without the dashboard answers 503 at / and the JSON API as usual', async () => {
    const [page] = dashboardRoutes('relay', undefined)
    const r = await page?.handle({ method: 'GET', path: '/', query: new URLSearchParams(), body: Buffer.alloc(0), headers: {}, signal: new AbortController().signal })
    expect(r?.status).toBe(503)
  })
})
