// Credentials, bind rules and admin addresses: the pure parts of the admin API.
import { describe, expect, it } from 'vitest'
import { authorizationHeader, authorize, challenges, safeEqual } from '../../shared/admin/auth.js'
import { adminBindProblem, isLoopbackHost } from '../../shared/config/admin-bind.js'
import { adminTargetFromConfig, dialHost, parseAdminUrl, redactUserinfo } from '../../shared/admin/target.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

describe('authorize', () => {
  const creds = { user: 'ops', password: 'p:w', token: 'T' }

  it('lets everything through when nothing is configured', () => {
    expect(authorize(undefined, { user: '', password: '', token: '' })).toBe(true)
  })

  it('compares user and password (a password may hold a colon) and the token', () => {
    expect(authorize(`Basic ${b64('ops:p:w')}`, creds)).toBe(true)
    expect(authorize(`Basic ${b64('ops:p')}`, creds)).toBe(false)
    expect(authorize(`Basic ${b64('Ops:p:w')}`, creds)).toBe(false)
    expect(authorize('Bearer T', creds)).toBe(true)
    expect(authorize('Bearer  T ', creds)).toBe(true)
    expect(authorize('Bearer t', creds)).toBe(false)
    expect(authorize(undefined, creds)).toBe(false)
    expect(authorize('', creds)).toBe(false)
    expect(authorize(`Bearer ${'T'.repeat(5000)}`, creds)).toBe(false)
  })

  it('a user without a configured user name is the empty name (as frp allows)', () => {
    expect(authorize(`Basic ${b64(':pw')}`, { user: '', password: 'pw', token: '' })).toBe(true)
    expect(authorize(`Basic ${b64('x:pw')}`, { user: '', password: 'pw', token: '' })).toBe(false)
  })

  it('safeEqual compares strings of any length', () => {
    expect(safeEqual('abc', 'abc')).toBe(true)
    expect(safeEqual('abc', 'abcd')).toBe(false)
    expect(safeEqual('', '')).toBe(true)
  })

  it('challenges name the configured schemes; a client header prefers the token', () => {
    expect(challenges({ user: '', password: '', token: '' })).toEqual([])
    expect(challenges({ user: 'a', password: 'b', token: '' })).toEqual(['Basic realm="tunnel", charset="UTF-8"'])
    // With a token a browser logs in by basic auth too (any user, the token as password).
    expect(challenges({ user: '', password: '', token: 't' })).toEqual(['Basic realm="tunnel", charset="UTF-8"', 'Bearer realm="tunnel"'])
    expect(authorize(`Basic ${b64('anyone:t')}`, { user: '', password: '', token: 't' })).toBe(true)
    expect(authorizationHeader({ user: 'a', password: 'b', token: 't' })).toBe('Bearer t')
    expect(authorizationHeader({ user: 'a', password: 'b', token: '' })).toBe(`Basic ${b64('a:b')}`)
    expect(authorizationHeader({ user: 'a', password: '', token: '' })).toBeUndefined()
  })
})

describe('bind rules', () => {
  it('loopback: 127/8, ::1, mapped 127.x and localhost; nothing else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'localhost.example', 'admin', '']) expect(isLoopbackHost(h), h).toBe(false)
  })

  it('a non-loopback address needs a password or a token', () => {
    expect(adminBindProblem({ addr: '127.0.0.1', password: '', token: '' })).toBeUndefined()
    expect(adminBindProblem({ addr: '0.0.0.0', password: 'x', token: '' })).toBeUndefined()
    expect(adminBindProblem({ addr: '::', password: '', token: 'x' })).toBeUndefined()
    expect(adminBindProblem({ addr: '0.0.0.0', password: '', token: '' })).toContain('webServer.addr 0.0.0.0 is not a loopback address')
  })
})

describe('admin targets', () => {
  it('parses --admin URLs: scheme optional, userinfo becomes basic auth, a token wins', () => {
    const t = parseAdminUrl('http://ops:s%3Acret@127.0.0.1:7500')
    expect(t).toEqual({ base: 'http://127.0.0.1:7500/', label: 'http://127.0.0.1:7500', authorization: `Basic ${b64('ops:s:cret')}` })
    expect(parseAdminUrl('127.0.0.1:7500').authorization).toBeUndefined()
    expect(parseAdminUrl('[::1]:7500', 'tok')).toMatchObject({ label: 'http://[::1]:7500', authorization: 'Bearer tok' })
  })

  it('refuses https, a missing port, a path, and never repeats credentials in the message', () => {
    expect(() => parseAdminUrl('https://127.0.0.1:7500')).toThrow(/plain http/)
    expect(() => parseAdminUrl('http://127.0.0.1')).toThrow(/name the port/)
    expect(() => parseAdminUrl('http://u:hunter2@127.0.0.1:7500/api')).toThrow(/without a path/)
    try { parseAdminUrl('http://u:hunter2@127.0.0.1:7500/api') } catch (err) { expect((err as Error).message).not.toContain('hunter2') }
    expect(redactUserinfo('http://u:p@h:1')).toBe('http://***@h:1')
    expect(redactUserinfo('http://u:pa/ss@h:1')).toBe('http://***@h:1')
    // A bad percent escape in the password is a usage error (TUN_USAGE), not a crash, and not echoed.
    expect(() => parseAdminUrl('http://admin:50%off@127.0.0.1:7500')).toThrow(expect.objectContaining({ code: 'TUN_USAGE' }))
    try { parseAdminUrl('http://admin:50%off@127.0.0.1:7500') } catch (err) { expect((err as Error).message).not.toContain('50%off') }
    // Port 80 is a port like any other, even though URL leaves the default out.
    expect(parseAdminUrl('http://127.0.0.1:80')).toMatchObject({ label: 'http://127.0.0.1' })
    expect(parseAdminUrl('u:p@127.0.0.1:80').authorization).toBe(`Basic ${b64('u:p')}`)
  })

  it('from a config: wildcard binds are dialled on loopback; no port or port 0 is TUN_ADMIN_NOT_CONFIGURED', () => {
    const admin = { addr: '0.0.0.0', port: 7500, user: 'a', password: 'b', token: '' }
    expect(adminTargetFromConfig(admin, 'frps.yml')).toMatchObject({ label: 'http://127.0.0.1:7500', authorization: `Basic ${b64('a:b')}` })
    expect(adminTargetFromConfig({ ...admin, addr: '::' }, 'frps.yml').label).toBe('http://[::1]:7500')
    expect(dialHost('10.0.0.5')).toBe('10.0.0.5')
    expect(() => adminTargetFromConfig(null, 'frpc.yml')).toThrow(expect.objectContaining({ code: 'TUN_ADMIN_NOT_CONFIGURED' }))
    expect(() => adminTargetFromConfig({ ...admin, port: 0 }, 'frpc.yml')).toThrow(/admin listening/)
  })
})
