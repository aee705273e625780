// The handshake's and record layer's wire numbers. Changing one changes the protocol: do it on
// purpose and bump HANDSHAKE_VERSION.
import { describe, expect, it } from 'vitest'
import {
  ACCEPT_BYTES, HANDSHAKE_MAGIC, HANDSHAKE_VERSION, HelloFlag, MAC_BYTES, MAX_CLIENT_ID_BYTES, MAX_HELLO_BYTES,
  MESSAGE1_BYTES, MESSAGE2_BYTES, PAYLOAD_BYTES, PROLOGUE_LABEL, Refusal, REFUSAL_BYTES, ResponseKind,
} from '../../shared/transport/handshake.js'
import { PSK_SALT } from '../../shared/transport/keys.js'
import { protocolName } from '../../shared/transport/noise.js'
import { DEFAULT_RECORD_LIMITS, MAX_RECORD_BYTES, MAX_RECORD_PLAINTEXT, RECORD_HEADER_BYTES } from '../../shared/transport/record.js'

describe('handshake wire numbers', () => {
  it('keeps the Noise protocol names, so the cacophony vectors apply', () => {
    expect(protocolName('IKpsk1')).toBe('Noise_IKpsk1_25519_ChaChaPoly_SHA256')
    expect(protocolName('INpsk1')).toBe('Noise_INpsk1_25519_ChaChaPoly_SHA256')
  })

  it('keeps the hello and answer layout', () => {
    expect(HANDSHAKE_MAGIC.toString('ascii')).toBe('TUNL')
    expect(HANDSHAKE_VERSION).toBe(2)
    expect(PROLOGUE_LABEL.toString('ascii')).toBe('tunnel/2')
    expect(PSK_SALT).toBe('tunnel/1/psk')
    expect(HelloFlag).toEqual({ PINNED: 1, PLAINTEXT: 2 })
    expect(ResponseKind).toEqual({ ACCEPT: 1, REFUSE: 2 })
    expect(Refusal).toEqual({ OK: 0, AUTH: 1, KEY: 2, NO_KEY: 3, REPLAY: 4, BUSY: 5, VERSION: 6, TRANSPORT: 7, CLOCK: 8, CLIENT_KEY: 9, TLS_REQUIRED: 10 })
    expect([PAYLOAD_BYTES, MESSAGE1_BYTES, MESSAGE2_BYTES, MAC_BYTES, MAX_CLIENT_ID_BYTES]).toEqual([16, 112, 64, 16, 128])
    expect([MAX_HELLO_BYTES, ACCEPT_BYTES, REFUSAL_BYTES]).toEqual([269, 71, 10])
  })

  it('keeps the record layout and the rekey schedule both sides must share', () => {
    expect([RECORD_HEADER_BYTES, MAX_RECORD_BYTES, MAX_RECORD_PLAINTEXT]).toEqual([2, 65535, 65519])
    expect(DEFAULT_RECORD_LIMITS).toEqual({ rekeyAfterRecords: 2 ** 20, rekeyAfterBytes: 2 ** 30, maxRecords: Number.MAX_SAFE_INTEGER })
  })
})
