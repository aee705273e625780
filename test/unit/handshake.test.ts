// The handshake, both halves in-process with a fake clock: NKpsk0 and NNpsk0 succeed; a wrong
// token, a wrong pinned key, a stale or future timestamp and a replay are refused with the right
// code on both sides; a replay never disturbs the live session; hostile bytes never throw
// anything but a HandshakeError.
import { SUPPORTED_CONTROL_VERSIONS } from '../../shared/wire/control.js'
import { fc, it as fcIt } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { HandshakeError, TunnelError } from '../../shared/errors.js'
import { computeMac1, parseHello, parseResponse, Refusal, type Hello } from '../../shared/transport/handshake.js'
import { ClientHandshake, type ClientKeys } from '../../shared/transport/handshake-client.js'
import { answerHello, type RelayHandshakeContext, type RelayOutcome } from '../../shared/transport/handshake-relay.js'
import { derivePsk, keyId, mac1Key } from '../../shared/transport/keys.js'
import { generateKeyPair, type CipherState, type KeyPair } from '../../shared/transport/noise.js'
import { RecordOpener, RecordSealer } from '../../shared/transport/record.js'
import { ReplayGuard } from '../../shared/transport/replay.js'

const NOW = 1_800_000_000_000
const SKEW_MS = 60_000
const TOKEN = 'correct horse battery staple'

interface Setup {
  relayKey: KeyPair | undefined
  guard: ReplayGuard
  now: number
}

/** A relay with a fresh key pair, or with none (`null`). */
function relay (relayKey: KeyPair | null = generateKeyPair()): Setup {
  return { relayKey: relayKey ?? undefined, guard: new ReplayGuard({ maxSkewMs: SKEW_MS }), now: NOW }
}

function ctx (s: Setup, over: Partial<RelayHandshakeContext> = {}): RelayHandshakeContext {
  return { staticKey: s.relayKey, psk: derivePsk(TOKEN), plaintext: false, guard: s.guard, nowMs: s.now, controlVersions: SUPPORTED_CONTROL_VERSIONS, ...over }
}

const CLIENT_KEY = generateKeyPair()

interface ClientOver {
  clientKey?: KeyPair
  token?: string
  serverKey?: Uint8Array | undefined
  clientId?: string
  timestampMs?: number
  plaintext?: boolean
}

function client (s: Setup, o: ClientOver = {}): ClientHandshake {
  return new ClientHandshake({
    clientId: o.clientId ?? 'office-pc',
    clientKey: o.clientKey ?? CLIENT_KEY,
    psk: derivePsk(o.token ?? TOKEN),
    serverKey: 'serverKey' in o ? o.serverKey : s.relayKey?.publicKey,
    plaintext: o.plaintext ?? false,
    nowMs: o.timestampMs ?? s.now,
  })
}

function hello (bytes: Buffer): Hello {
  const parsed = parseHello(bytes)
  if (parsed === undefined) throw new Error('incomplete hello')
  expect(parsed.used).toBe(bytes.length)
  return parsed.hello
}

function response (outcome: RelayOutcome): ReturnType<typeof parseResponse> {
  return parseResponse(outcome.reply)
}

/** Runs the client's half on the relay's answer: keys, or the error it throws. */
function finish (c: ClientHandshake, outcome: RelayOutcome): ClientKeys | HandshakeError {
  const r = response(outcome)
  if (r === undefined) throw new Error('the relay sent no answer')
  try {
    return c.finish(r.response)
  } catch (err) {
    if (err instanceof HandshakeError) return err
    throw err
  }
}

/** Both directions of a transport carry a message. */
function talk (a: { send: CipherState, recv: CipherState }, b: { send: CipherState, recv: CipherState }): void {
  const ab = new RecordSealer(a.send).seal([Buffer.from('to the relay')])
  expect(Buffer.concat(new RecordOpener(b.recv).push(Buffer.concat(ab))).toString()).toBe('to the relay')
  const ba = new RecordSealer(b.send).seal([Buffer.from('to the client')])
  expect(Buffer.concat(new RecordOpener(a.recv).push(Buffer.concat(ba))).toString()).toBe('to the client')
}

describe('handshake: success', () => {
  it('NKpsk0 (pinned key) gives both sides the same session id and working keys', () => {
    const s = relay()
    const c = client(s)
    const outcome = answerHello(hello(c.hello), ctx(s))
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.pinned).toBe(true)
    expect(outcome.clientId).toBe('office-pc')
    const keys = finish(c, outcome)
    if (keys instanceof HandshakeError) throw keys
    expect(keys.sessionId).toBe(outcome.sessionId)
    expect(keys.relayTimeMs).toBe(NOW)
    talk(keys, outcome)
  })

  it('NNpsk0 (no pinned key) works with a relay that has a key and with one that has none', () => {
    for (const s of [relay(), relay(null)]) {
      const c = client(s, { serverKey: undefined })
      const outcome = answerHello(hello(c.hello), ctx(s))
      if (!outcome.ok) throw outcome.error
      expect(outcome.pinned).toBe(false)
      const keys = finish(c, outcome)
      if (keys instanceof HandshakeError) throw keys
      talk(keys, outcome)
    }
  })

  it('a client id of 128 UTF-8 bytes fits; the header carries it in clear', () => {
    const s = relay()
    const id = 'é'.repeat(64)
    const c = client(s, { clientId: id })
    const outcome = answerHello(hello(c.hello), ctx(s))
    expect(outcome.ok && outcome.clientId).toBe(id)
    expect(() => client(s, { clientId: 'x'.repeat(129) })).toThrow(RangeError)
  })
})

describe('handshake: refusals', () => {
  it('a wrong token fails mac1 (one HMAC, no DH): refused as TUN_AUTH_REFUSED on both sides, in cleartext, and its key is not cached', () => {
    const s = relay()
    const c = client(s, { token: 'wrong' })
    const h = hello(c.hello)
    const outcome = answerHello(h, ctx(s))
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.error.code).toBe('TUN_AUTH_REFUSED')
    const err = finish(c, outcome)
    expect(err).toBeInstanceOf(HandshakeError)
    expect((err as HandshakeError).code).toBe('TUN_AUTH_REFUSED')
    expect((err as HandshakeError).authenticated).toBe(false)
    expect(s.guard.seen(h.noise.subarray(0, 32), NOW)).toBe(false)
    // The same in unpinned mode.
    const nn = client(s, { token: 'wrong', serverKey: undefined })
    expect((finish(nn, answerHello(hello(nn.hello), ctx(s))) as HandshakeError).code).toBe('TUN_AUTH_REFUSED')
  })

  it('a wrong pinned key is refused as TUN_SERVER_KEY_MISMATCH, naming both key ids', () => {
    const s = relay()
    const other = generateKeyPair()
    const c = client(s, { serverKey: other.publicKey })
    const outcome = answerHello(hello(c.hello), ctx(s))
    const err = finish(c, outcome) as HandshakeError
    expect(err.code).toBe('TUN_SERVER_KEY_MISMATCH')
    expect(err.message).toContain(keyId(other.publicKey).toString('hex'))
    expect(err.message).toContain(keyId(s.relayKey?.publicKey).toString('hex'))
  })

  it('a pinned client is refused by a relay without a key', () => {
    const s = relay(null)
    const c = client(s, { serverKey: generateKeyPair().publicKey })
    const err = finish(c, answerHello(hello(c.hello), ctx(s))) as HandshakeError
    expect(err.code).toBe('TUN_SERVER_KEY_MISMATCH')
    expect(err.message).toContain('no private key')
  })

  it('a man in the middle cannot answer for the pinned key: a forged answer fails as TUN_SERVER_KEY_MISMATCH', () => {
    const real = relay()
    const c = client(real)
    // The impostor holds another key but claims the pinned key's id, so it gets past the key id
    // check; it cannot compute es, so message 1 does not decrypt for it.
    const impostor = relay()
    const h = hello(c.hello)
    const forgedKeyId = { ...h, keyId: keyId(impostor.relayKey?.publicKey) }
    const macKey = mac1Key(impostor.relayKey?.publicKey, derivePsk(TOKEN))
    const outcome = answerHello({ ...forgedKeyId, mac1: computeMac1(macKey, h.macInput) }, ctx(impostor))
    expect(outcome.ok).toBe(false)
    // Its best move is a made-up message 2.
    const forged: RelayOutcome = { ok: false, clientId: 'x', error: new HandshakeError('TUN_AUTH_REFUSED', 'x', { reason: 'x' }), reply: Buffer.concat([Buffer.from('TUNL'), Buffer.from([1, 0, 64]), Buffer.alloc(64, 7)]) }
    expect((finish(c, forged) as HandshakeError).code).toBe('TUN_SERVER_KEY_MISMATCH')
    const unpinned = client(real, { serverKey: undefined })
    expect((finish(unpinned, forged) as HandshakeError).code).toBe('TUN_AUTH_REFUSED')
  })

  it('insecurePlaintext on one side only is refused as TUN_TRANSPORT_MISMATCH', () => {
    const s = relay()
    const c = client(s, { plaintext: true })
    const err = finish(c, answerHello(hello(c.hello), ctx(s))) as HandshakeError
    expect(err.code).toBe('TUN_TRANSPORT_MISMATCH')
  })

  it('a tampered header (client id) fails: mac1 refuses it like a wrong token, and with mac1 recomputed the prologue differs and it is dropped', () => {
    const s = relay()
    const c = client(s)
    const bytes = Buffer.from(c.hello)
    bytes[11] = 'O'.charCodeAt(0) // office-pc → Office-pc
    const refused = answerHello(hello(bytes), ctx(s))
    expect(!refused.ok && refused.error.code).toBe('TUN_AUTH_REFUSED')
    const h = hello(bytes)
    const remac = { ...h, mac1: computeMac1(mac1Key(s.relayKey?.publicKey, derivePsk(TOKEN)), h.macInput) }
    const outcome = answerHello(remac, ctx(s))
    expect(!outcome.ok && outcome.error.code).toBe('TUN_HANDSHAKE_INVALID')
    expect(outcome.reply.length).toBe(0)
  })

  it('an all-zero ephemeral key is dropped without an answer', () => {
    const s = relay()
    const c = client(s)
    const h = hello(c.hello)
    const noise = Buffer.from(h.noise)
    noise.fill(0, 0, 32)
    const macInput = Buffer.concat([h.macInput.subarray(0, h.macInput.length - noise.length), noise])
    const outcome = answerHello({ ...h, noise, macInput, mac1: computeMac1(mac1Key(s.relayKey?.publicKey, derivePsk(TOKEN)), macInput) }, ctx(s))
    expect(outcome.ok).toBe(false)
    expect(outcome.reply.length).toBe(0)
  })
})

describe('handshake: freshness window (fake clock)', () => {
  const cases: Array<[string, number, boolean]> = [
    ['61 s behind', -61_000, false],
    ['61 s ahead', 61_000, false],
    ['59 s behind', -59_000, true],
    ['59 s ahead', 59_000, true],
    ['exactly at the edge', -SKEW_MS, true],
  ]
  for (const [name, offset, accepted] of cases) {
    it(`a timestamp ${name} is ${accepted ? 'accepted' : 'refused with TUN_CLOCK_SKEW inside message 2'}`, () => {
      const s = relay()
      const c = client(s, { timestampMs: NOW + offset })
      const outcome = answerHello(hello(c.hello), ctx(s))
      expect(outcome.ok).toBe(accepted)
      const result = finish(c, outcome)
      if (accepted) { expect(result).not.toBeInstanceOf(HandshakeError); return }
      const err = result as HandshakeError
      expect(err.code).toBe('TUN_CLOCK_SKEW')
      expect(err.authenticated).toBe(true)
      expect(err.message).toContain(`${Math.abs(offset) / 1000} s ${offset > 0 ? 'ahead of' : 'behind'}`)
    })
  }
})

describe('handshake: replays', () => {
  it('message 1 replayed is refused before any DH, and the live session keeps working', () => {
    const s = relay()
    const c = client(s)
    const first = answerHello(hello(c.hello), ctx(s))
    if (!first.ok) throw first.error
    const keys = finish(c, first)
    if (keys instanceof HandshakeError) throw keys
    first.commit()
    s.now += 1_000
    const replay = answerHello(hello(c.hello), ctx(s))
    expect(replay.ok).toBe(false)
    if (replay.ok) return
    expect(replay.error.code).toBe('TUN_REPLAY')
    expect(replay.error.reason).toBe('ephemeral seen')
    expect(parseResponse(replay.reply)?.response).toMatchObject({ kind: 'refuse', code: Refusal.REPLAY })
    talk(keys, first) // counters of the live session still advance in step
    talk(keys, first)
  })

  it('after a relay restart a replay passes message 1 but cannot produce the first record, so it never becomes active', () => {
    const s = relay()
    const c = client(s)
    const first = answerHello(hello(c.hello), ctx(s))
    if (!first.ok) throw first.error
    first.commit()
    const restarted = { ...s, guard: new ReplayGuard({ maxSkewMs: SKEW_MS }) }
    const replay = answerHello(hello(c.hello), ctx(restarted))
    expect(replay.ok).toBe(true)
    if (!replay.ok) return
    // The replayer lacks the ephemeral private key; whatever it sends as a record fails.
    const guess = new RecordSealer(first.recv).seal([Buffer.from('{"type":"login"}')]) // even the old session's keys
    expect(() => new RecordOpener(replay.recv).push(Buffer.concat(guess))).toThrow(expect.objectContaining({ code: 'TUN_RECORD_AUTH' }))
  })

  it('a timestamp not newer than the last activated login of the client id is refused (inside message 2)', () => {
    const s = relay()
    const newer = client(s, { timestampMs: NOW + 5_000 })
    const ok = answerHello(hello(newer.hello), ctx(s))
    if (!ok.ok) throw ok.error
    ok.commit()
    const older = client(s, { timestampMs: NOW + 4_000 })
    const outcome = answerHello(hello(older.hello), ctx(s))
    const err = finish(older, outcome) as HandshakeError
    expect(err.code).toBe('TUN_REPLAY')
    expect(err.authenticated).toBe(true)
    // Another client id is not affected.
    const other = client(s, { clientId: 'laptop', timestampMs: NOW + 4_000 })
    expect(answerHello(hello(other.hello), ctx(s)).ok).toBe(true)
  })

  it('an unactivated handshake does not move the client id\'s timestamp', () => {
    const s = relay()
    const a = answerHello(hello(client(s, { timestampMs: NOW + 9_000 }).hello), ctx(s))
    expect(a.ok).toBe(true) // never committed: its first record never came
    expect(answerHello(hello(client(s, { timestampMs: NOW + 1_000 }).hello), ctx(s)).ok).toBe(true)
  })
})

describe('handshake: hostile bytes', () => {
  const s = relay()
  const valid = client(s).hello

  fcIt.prop([fc.uint8Array({ maxLength: 400 })], { numRuns: 500 })('random bytes never throw anything but a HandshakeError', (bytes) => {
    for (const parse of [parseHello, parseResponse]) {
      try { parse(Buffer.from(bytes)) } catch (err) { expect(err).toBeInstanceOf(HandshakeError) }
    }
  })

  fcIt.prop([fc.nat({ max: valid.length - 1 })])('every truncation of a valid hello asks for more bytes', (n) => {
    expect(parseHello(valid.subarray(0, n))).toBeUndefined()
  })

  fcIt.prop([fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })], { numRuns: 300 })('a hello with any byte changed is parsed, refused or answered, never thrown past', (at, xor) => {
    const bytes = Buffer.from(valid)
    bytes[at] = (bytes[at] as number) ^ xor
    let h: Hello | undefined
    try {
      h = parseHello(bytes)?.hello
    } catch (err) {
      expect(err).toBeInstanceOf(HandshakeError)
      return
    }
    if (h === undefined) return
    const outcome = answerHello(h, ctx({ ...s, guard: new ReplayGuard({ maxSkewMs: SKEW_MS }) }))
    if (!outcome.ok) expect(outcome.error).toBeInstanceOf(TunnelError)
  })

  fcIt.prop([fc.uint8Array({ minLength: 64, maxLength: 64 })], { numRuns: 100 })('a random message 2 is refused by the client with a code', (body) => {
    const c = client(s)
    const r = parseResponse(Buffer.concat([Buffer.from('TUNL'), Buffer.from([1, 0, 64]), body]))
    if (r === undefined) throw new Error('incomplete')
    expect(() => c.finish(r.response)).toThrow(HandshakeError)
  })
})

describe('handshake: what the client makes of every refusal', () => {
  const s = relay()
  const cleartext: Array<[number, string, RegExp]> = [
    [Refusal.AUTH, 'TUN_AUTH_REFUSED', /auth\.token does not match/],
    [Refusal.KEY, 'TUN_SERVER_KEY_MISMATCH', /is not the one pinned in auth\.serverKey/],
    [Refusal.NO_KEY, 'TUN_SERVER_KEY_MISMATCH', /the relay has no private key/],
    [Refusal.TRANSPORT, 'TUN_TRANSPORT_MISMATCH', /insecurePlaintext is false here but true on the relay/],
    [Refusal.REPLAY, 'TUN_REPLAY', /saw this handshake before/],
    [Refusal.BUSY, 'TUN_RELAY_BUSY', /too many handshakes/],
    [Refusal.VERSION, 'TUN_PROTOCOL', /another handshake version/],
    [Refusal.CLOCK, 'TUN_CLOCK_SKEW', /clock differs too much/],
    [77, 'TUN_HANDSHAKE_INVALID', /unknown code 77/],
  ]
  for (const [code, expected, text] of cleartext) {
    it(`a cleartext refusal ${code} is ${expected}, and not authenticated`, () => {
      const err = (() => { try { client(s).finish({ kind: 'refuse', code, relayKeyId: Buffer.alloc(4) }) } catch (e) { return e } })()
      expect(err).toBeInstanceOf(HandshakeError)
      expect(err).toMatchObject({ code: expected, authenticated: false, message: expect.stringMatching(text) })
    })
  }

  it('a relay that does not speak the client\'s control protocol refuses inside message 2, naming its version', () => {
    const c = client(s)
    const outcome = answerHello(hello(c.hello), ctx(s, { controlVersions: [7] }))
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error).toMatchObject({ code: 'TUN_PROTOCOL_VERSION', message: expect.stringMatching(/the client speaks control protocol 2, this relay 7/) })
    const err = finish(c, outcome)
    expect(err).toBeInstanceOf(HandshakeError)
    expect(err).toMatchObject({ code: 'TUN_PROTOCOL_VERSION', authenticated: true, message: 'the relay speaks control protocol 7, this client 2: upgrade the older side' })
  })

  it('a relay that speaks several versions accepts any of them', () => {
    const c = client(s)
    const outcome = answerHello(hello(c.hello), ctx(s, { controlVersions: [1, 2, 3] }))
    expect(outcome.ok).toBe(true)
    expect(finish(c, outcome)).not.toBeInstanceOf(HandshakeError)
  })

  it('an answer that is not the tunnel\'s, of an unknown kind or of the wrong length is refused with a code', () => {
    expect(() => parseResponse(Buffer.from('HTTP/1.1 400'))).toThrow(expect.objectContaining({ code: 'TUN_PROTOCOL' }))
    expect(() => parseResponse(Buffer.from([...Buffer.from('TUNL'), 9]))).toThrow(expect.objectContaining({ code: 'TUN_HANDSHAKE_INVALID' }))
    expect(() => parseResponse(Buffer.from([...Buffer.from('TUNL'), 1, 0, 63]))).toThrow(expect.objectContaining({ code: 'TUN_HANDSHAKE_INVALID' }))
    expect(parseResponse(Buffer.from([...Buffer.from('TUNL'), 2, 1]))).toBeUndefined()
    expect(parseResponse(Buffer.from([...Buffer.from('TUNL'), 1, 0]))).toBeUndefined()
  })
})

describe('handshake: the client\'s identity', () => {
  it('the relay learns the client\'s static key, pinned (IKpsk1) or not (INpsk1)', () => {
    const s = relay()
    for (const serverKey of [s.relayKey?.publicKey, undefined]) {
      const c = client(s, { serverKey })
      const outcome = answerHello(hello(c.hello), ctx(s))
      expect(outcome.ok).toBe(true)
      if (outcome.ok) expect(Buffer.from(outcome.clientKey)).toEqual(Buffer.from(CLIENT_KEY.publicKey))
      expect(finish(c, outcome)).not.toBeInstanceOf(HandshakeError)
    }
  })

  it('a key that does not hold the private half cannot finish: the relay\'s answer is keyed to the real key (se)', () => {
    const s = relay()
    const real = client(s)
    const outcome = answerHello(hello(real.hello), ctx(s))
    // An impostor replaying the hello (it has no private key for CLIENT_KEY) gets message 2 it cannot read.
    const impostor = client(s, { clientKey: { publicKey: CLIENT_KEY.publicKey, secretKey: generateKeyPair().secretKey } })
    expect(finish(impostor, outcome)).toBeInstanceOf(HandshakeError)
  })

  it('refuses a key auth.clientKeys does not allow, inside message 2', () => {
    const s = relay()
    const c = client(s)
    const outcome = answerHello(hello(c.hello), ctx(s, { clientKeyAllowed: (key, id) => !Buffer.from(key).equals(Buffer.from(CLIENT_KEY.publicKey)) || id !== 'office-pc' }))
    expect(!outcome.ok && outcome.error.code).toBe('TUN_CLIENT_KEY_REFUSED')
    expect(finish(c, outcome)).toMatchObject({ code: 'TUN_CLIENT_KEY_REFUSED', authenticated: true, message: expect.stringMatching(/ask its operator to add the public key to auth\.clientKeys/) })
  })

  it('refuses BUSY before any Diffie-Hellman when the relay\'s DH budget says no, and remembers nothing', () => {
    const s = relay()
    const c = client(s)
    const h = hello(c.hello)
    const outcome = answerHello(h, ctx(s, { dhAllowed: () => false }))
    expect(!outcome.ok && outcome.error.code).toBe('TUN_RELAY_BUSY')
    expect(s.guard.seen(h.noise.subarray(0, 32), NOW)).toBe(false)
    expect(finish(c, outcome)).toMatchObject({ code: 'TUN_RELAY_BUSY' })
  })
})
