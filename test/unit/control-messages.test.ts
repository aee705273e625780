// The reload's control messages: unregister and its result, and the request id that register,
// unregister and their results carry. A malformed message is a protocol error, never a crash.
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../shared/errors.js'
import { MAX_REQUEST_ID, parseProxyResult, parseRegister, parseUnregister, parseUnregisterResult } from '../../shared/wire/messages.js'

describe('unregister and request ids', () => {
  it('parses an unregister with and without an id', () => {
    expect(parseUnregister({ type: 'unregister', name: 'ssh' })).toEqual({ type: 'unregister', name: 'ssh' })
    expect(parseUnregister({ type: 'unregister', name: 'bob.ssh', id: 7 })).toEqual({ type: 'unregister', name: 'bob.ssh', id: 7 })
    expect(parseUnregister({ type: 'unregister', name: 'x', id: MAX_REQUEST_ID }).id).toBe(MAX_REQUEST_ID)
  })

  it('refuses a malformed unregister with a protocol error', () => {
    const bad: Array<Record<string, unknown>> = [
      { type: 'register', name: 'x' },
      { type: 'unregister' },
      { type: 'unregister', name: 42 },
      { type: 'unregister', name: null },
      { type: 'unregister', name: 'x'.repeat(201) },
      { type: 'unregister', name: 'x', id: -1 },
      { type: 'unregister', name: 'x', id: 1.5 },
      { type: 'unregister', name: 'x', id: '3' },
      { type: 'unregister', name: 'x', id: MAX_REQUEST_ID + 1 },
    ]
    for (const m of bad) expect(() => parseUnregister(m), JSON.stringify(m)).toThrow(ProtocolError)
  })

  it('parses unregister results, keeping only known error codes', () => {
    expect(parseUnregisterResult({ type: 'unregisterResult', name: 'a', ok: true, id: 3 })).toEqual({ type: 'unregisterResult', name: 'a', ok: true, id: 3 })
    expect(parseUnregisterResult({ type: 'unregisterResult', name: 'a', ok: false, code: 'TUN_PROXY_UNKNOWN', message: 'no such proxy' }))
      .toEqual({ type: 'unregisterResult', name: 'a', ok: false, code: 'TUN_PROXY_UNKNOWN', message: 'no such proxy' })
    expect(parseUnregisterResult({ type: 'unregisterResult', name: 'a', ok: false, code: 'NOT_A_CODE' })).toEqual({ type: 'unregisterResult', name: 'a', ok: false })
    expect(() => parseUnregisterResult({ type: 'unregisterResult', name: 'a' })).toThrow(ProtocolError)
    expect(() => parseUnregisterResult({ type: 'unregisterResult', name: 'a', ok: true, id: 'x' })).toThrow(ProtocolError)
  })

  it('carries the id on register and proxy results, and none when absent', () => {
    const proxies = [{ name: 'a', type: 'tcp', remotePort: 0 }]
    expect(parseRegister({ type: 'register', proxies }).id).toBeUndefined()
    expect(parseRegister({ type: 'register', proxies, id: 12 }).id).toBe(12)
    expect(() => parseRegister({ type: 'register', proxies, id: -3 })).toThrow(ProtocolError)
    expect(parseProxyResult({ type: 'proxyResult', name: 'a', ok: true, remotePort: 6000, id: 12 })).toMatchObject({ id: 12, remotePort: 6000 })
    expect(parseProxyResult({ type: 'proxyResult', name: 'a', ok: true, remotePort: 6000 })).not.toHaveProperty('id')
  })
})
