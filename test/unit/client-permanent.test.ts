// Which failures stop the client (exit 2) and which it retries.
import { describe, expect, it } from 'vitest'
import { isPermanent } from '../../client/permanent.js'
import { HandshakeError, TunnelError } from '../../shared/errors.js'

describe('permanent failures', () => {
  const cleartext = (code: 'TUN_AUTH_REFUSED' | 'TUN_SERVER_KEY_MISMATCH'): HandshakeError => new HandshakeError(code, 'x', { reason: 'refused' })

  it('a wrong token, key, clock or plaintext setting at the first login ends the client', () => {
    for (const code of ['TUN_AUTH_REFUSED', 'TUN_SERVER_KEY_MISMATCH', 'TUN_CLOCK_SKEW', 'TUN_TRANSPORT_MISMATCH', 'TUN_PROTOCOL'] as const) {
      expect(isPermanent(new HandshakeError(code, 'x', { reason: 'r' }), false)).toBe(true)
    }
  })

  it('network trouble, a busy relay, a replay verdict and record failures are retried', () => {
    for (const code of ['TUN_CONNECT', 'TUN_RELAY_BUSY', 'TUN_REPLAY', 'TUN_HANDSHAKE_TIMEOUT', 'TUN_RECORD_AUTH', 'TUN_SESSION_CLOSED'] as const) {
      expect(isPermanent(new TunnelError(code, 'x'), false)).toBe(false)
    }
  })

  it('after a successful login, a cleartext (forgeable) refusal is retried, an authenticated one is not', () => {
    expect(isPermanent(cleartext('TUN_AUTH_REFUSED'), true)).toBe(false)
    expect(isPermanent(cleartext('TUN_SERVER_KEY_MISMATCH'), true)).toBe(false)
    expect(isPermanent(new HandshakeError('TUN_CLOCK_SKEW', 'x', { reason: 'stale', authenticated: true }), true)).toBe(true)
  })
})
