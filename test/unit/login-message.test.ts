import { describe, expect, it } from 'vitest'
import { PROBE_IDLE_MS, parseLogin, parseLoginResult } from '../../shared/wire/messages.js'

const login = { type: 'login', version: 1, clientId: 'home', user: '', hostname: 'box' }

describe('control messages', () => {
  it('parses a login, with and without a NAT probe idle time', () => {
    expect(parseLogin(login)).toEqual(login)
    expect(parseLogin({ ...login, probeIdleMs: 5_000 })).toEqual({ ...login, probeIdleMs: 5_000 })
  })

  it('refuses a probe idle time outside its bounds or not a whole number', () => {
    for (const bad of [PROBE_IDLE_MS.min - 1, PROBE_IDLE_MS.max + 1, 1500.5, '5000', null]) {
      expect(() => parseLogin({ ...login, probeIdleMs: bad })).toThrow(/probeIdleMs must be a whole number/)
    }
  })

  it('refuses malformed logins and results with TUN_PROTOCOL', () => {
    expect(() => parseLogin({ ...login, clientId: 7 })).toThrow(expect.objectContaining({ code: 'TUN_PROTOCOL' }))
    expect(() => parseLogin({ ...login, type: 'register' })).toThrow(/expected login/)
    expect(() => parseLoginResult({ type: 'loginResult' })).toThrow(/expected loginResult/)
  })
})
