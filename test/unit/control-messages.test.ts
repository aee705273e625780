// The typed control plane (shared/wire/control.ts): every message type parses to its typed
// value; an unknown type, a missing field, a field of the wrong type or size is a ProtocolError
// that names the message type; a peer's unknown error codes and over-long texts are dropped or
// cut, not refused. Proxy specs (shared/wire/proxy-spec.ts) are checked per type.
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../shared/errors.js'
import {
  ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, decodeControlMessage, MAX_MESSAGE_CHARS, MAX_PROXIES_PER_REGISTER, MAX_REQUEST_ID, MESSAGE_SENDER, MessageType,
  parseControlMessage, PROBE_IDLE_MS, type ControlMessage,
} from '../../shared/wire/control.js'

const login = { type: 'login', version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId: 'home', user: '', hostname: 'box' }

/** The ProtocolError a value raises (fails the test when it parses). */
function refusal (value: unknown): ProtocolError {
  try {
    parseControlMessage(value)
  } catch (err) {
    if (err instanceof ProtocolError) return err
    throw err
  }
  throw new Error(`parsed: ${JSON.stringify(value).slice(0, 120)}`)
}

describe('control messages', () => {
  it('parses one valid example of every message type, unchanged', () => {
    const examples: ControlMessage[] = [
      login as ControlMessage,
      { type: 'login', version: 2, capabilities: [], clientId: 'p', user: 'u', hostname: 'h', probeIdleMs: 5_000 },
      { type: 'login', version: 2, capabilities: ['group'], clientId: 'p', user: 'u', hostname: 'h', metas: { team: 'ops' } },
      { type: 'loginResult', ok: true, version: 2, capabilities: ['proxy.tcp'], sessionId: 'abcd' },
      { type: 'loginResult', ok: false, code: 'TUN_AUTH_REFUSED', message: 'no' },
      { type: 'register', proxies: [{ name: 'ssh', type: 'tcp', remotePort: 6000 }], id: 3 },
      { type: 'proxyResult', name: 'ssh', ok: true, remotePort: 6000, id: 3 },
      { type: 'proxyResult', name: 'web', ok: true, remotePort: 80, domains: ['a.test'] },
      { type: 'unregister', name: 'ssh', id: MAX_REQUEST_ID },
      { type: 'unregisterResult', name: 'ssh', ok: false, code: 'TUN_PROXY_UNKNOWN', message: 'none' },
      { type: 'diagRequest', id: 0 },
      { type: 'diagResult', id: 9, ok: true, view: { control: [] } },
      { type: 'natProbe', idleMs: 5_000 },
      { type: 'proxyHealth', name: 'web', healthy: false },
    ]
    const seen = new Set<string>()
    for (const m of examples) {
      expect(parseControlMessage(JSON.parse(JSON.stringify(m)))).toEqual(m)
      seen.add(m.type)
    }
    expect([...seen].sort()).toEqual(Object.values(MessageType).sort())
  })

  it('refuses an unknown or missing type, naming it', () => {
    expect(refusal({ type: 'frobnicate' }).message).toMatch(/unknown control message type "frobnicate"/)
    expect(refusal({ type: 42 }).message).toMatch(/unknown control message type 42/)
    expect(refusal({ name: 'x' }).message).toMatch(/unknown control message type undefined/)
    expect(refusal(['login']).message).toMatch(/not a JSON object/)
    expect(refusal(null).message).toMatch(/not a JSON object/)
    expect(() => decodeControlMessage(Buffer.from('{not json'))).toThrow(/not valid JSON/)
  })

  it('refuses a missing field, a wrong field type and an oversized field, naming the type and the field', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...login, clientId: undefined }, 'login', /clientId/],
      [{ ...login, clientId: 7 }, 'login', /clientId/],
      [{ ...login, user: 'x'.repeat(60_000) }, 'login', /user/],
      [{ ...login, capabilities: 'all' }, 'login', /capabilities/],
      [{ ...login, probeIdleMs: PROBE_IDLE_MS.max + 1 }, 'login', /probeIdleMs/],
      [{ ...login, probeIdleMs: 1500.5 }, 'login', /probeIdleMs/],
      [{ type: 'register' }, 'register', /proxies/],
      [{ type: 'register', proxies: {} }, 'register', /proxies/],
      [{ type: 'register', proxies: [{ type: 'tcp' }] }, 'register', /proxies\.0\.name/],
      [{ type: 'register', proxies: Array(MAX_PROXIES_PER_REGISTER + 1).fill({ name: 'a', type: 'tcp' }) }, 'register', /proxies/],
      [{ type: 'register', proxies: [], id: -1 }, 'register', /id/],
      [{ type: 'unregister' }, 'unregister', /name/],
      [{ type: 'unregister', name: 42 }, 'unregister', /name/],
      [{ type: 'unregister', name: 'x'.repeat(300) }, 'unregister', /name/],
      [{ type: 'unregister', name: 'x', id: 1.5 }, 'unregister', /id/],
      [{ type: 'unregister', name: 'x', id: MAX_REQUEST_ID + 1 }, 'unregister', /id/],
      [{ type: 'diagRequest' }, 'diagRequest', /id/],
      [{ type: 'loginResult' }, 'loginResult', /ok/],
      [{ type: 'proxyResult', name: 'a', ok: 'yes' }, 'proxyResult', /ok/],
      [{ type: 'proxyResult', name: 'a', ok: true, remotePort: 70_000 }, 'proxyResult', /remotePort/],
      [{ type: 'natProbe' }, 'natProbe', /idleMs/],
    ]
    for (const [value, type, field] of cases) {
      const err = refusal(value)
      expect(err.code).toBe('TUN_PROTOCOL')
      expect(err.messageType).toBe(type)
      expect(err.message).toContain(`"${type}"`)
      expect(err.message).toMatch(field)
    }
  })

  it('keeps a peer\'s unknown error codes out and cuts long explanations', () => {
    const m = parseControlMessage({ type: 'unregisterResult', name: 'a', ok: false, code: 'NOT_A_CODE', message: 'x'.repeat(5_000) })
    expect(m).toEqual({ type: 'unregisterResult', name: 'a', ok: false, message: 'x'.repeat(MAX_MESSAGE_CHARS) })
    expect(m).not.toHaveProperty('code')
  })

  it('names the sender of every type, so a message from the wrong side can be refused', () => {
    expect(Object.keys(MESSAGE_SENDER).sort()).toEqual(Object.values(MessageType).sort())
    expect(MESSAGE_SENDER.register).toBe('client')
    expect(MESSAGE_SENDER.proxyResult).toBe('relay')
  })
})
