// The relay's half of the handshake, pure and synchronous (clock injected). Cheapest checks
// first, and no Diffie-Hellman before the token is known to be right:
//   1. key id: a client pinning another key (or any key when the relay has none) → refusal;
//   2. mac1 over the header and message 1, keyed by the relay's public key and the token: one
//      HMAC; a wrong token (or a tampered hello) fails here → refusal, no DH done;
//   3. transport.insecurePlaintext on both sides must agree → refusal;
//   4. ephemeral key already seen within the window → refusal (replay), still no DH;
//   5. the caller's DH budget (dhAllowed) → refusal BUSY;
//   6. Noise IKpsk1 (e, es, s, ss, psk) or INpsk1 (e, s, psk) and decrypt: the client's static
//      key (its identity) and the payload;
//   7. the client key against auth.clientKeys, the timestamp within ±maxSkew and newer than this
//      client id's last login → else an encrypted message 2 carrying the reason;
//   8. message 2 (e, ee, se: proves the client holds its static key's private half once its
//      first record decrypts) and Split(). The caller activates the session only after that
//      first transport record decrypts, then calls commit() to record the timestamp.
import { HandshakeError } from '../errors.js'
import {
  DecryptError, HandshakeState, type CipherState, type KeyPair,
} from './noise.js'
import {
  decodeHelloPayload, encodeAccept, encodeAcceptPayload, encodeRefusal, HelloFlag, mac1Matches, Refusal, type Hello,
} from './handshake.js'
import { clientKeyId, keyId, mac1Key } from './keys.js'
import type { ReplayGuard } from './replay.js'

export interface RelayHandshakeContext {
  /** The relay's static key pair; undefined = only unpinned (NNpsk0) clients are accepted. */
  staticKey: KeyPair | undefined
  psk: Uint8Array
  plaintext: boolean
  guard: ReplayGuard
  nowMs: number
  /** Whether the client's static key may log in as this client id (auth.clientKeys); absent = any key. */
  clientKeyAllowed?: (clientKey: Uint8Array, clientId: string) => boolean
  /** Asked right before the Diffie-Hellman work; false = refuse BUSY (the relay's DH budget). */
  dhAllowed?: () => boolean
  /** Control protocol versions this relay speaks (the client's is in message 1). */
  controlVersions: readonly number[]
  /** Tests only. */
  ephemeral?: KeyPair
}

export interface RelayAccepted {
  ok: true
  reply: Buffer
  clientId: string
  /** The client's static public key: its identity. */
  clientKey: Uint8Array
  pinned: boolean
  sessionId: string
  send: CipherState
  recv: CipherState
  timestampMs: number
  /** Records the login's timestamp for the client id: call when the session becomes active. */
  commit: () => void
}

export interface RelayRefused {
  ok: false
  /** Bytes to send before closing; empty = close without a word. */
  reply: Buffer
  error: HandshakeError
  clientId: string
}

export type RelayOutcome = RelayAccepted | RelayRefused

/** The relay's key id for refusals (zeros without a key). */
export function relayKeyId (ctx: Pick<RelayHandshakeContext, 'staticKey'>): Buffer {
  return keyId(ctx.staticKey?.publicKey)
}

function refuse (ctx: RelayHandshakeContext, hello: Hello, code: Refusal, error: HandshakeError, silent = false): RelayRefused {
  return { ok: false, reply: silent ? Buffer.alloc(0) : encodeRefusal(code, relayKeyId(ctx)), error, clientId: hello.clientId }
}

export function answerHello (hello: Hello, ctx: RelayHandshakeContext): RelayOutcome {
  const pinned = (hello.flags & HelloFlag.PINNED) !== 0
  const ownKey = ctx.staticKey?.publicKey
  if (pinned && ownKey === undefined) {
    return refuse(ctx, hello, Refusal.NO_KEY, new HandshakeError('TUN_SERVER_KEY_MISMATCH', 'the client pins a relay key but this relay has no auth.privateKey', { reason: 'no key' }))
  }
  if (pinned && !hello.keyId.equals(keyId(ownKey))) {
    return refuse(ctx, hello, Refusal.KEY, new HandshakeError('TUN_SERVER_KEY_MISMATCH', `the client pins another relay key (id ${hello.keyId.toString('hex')}, ours ${keyId(ownKey).toString('hex')})`, { reason: 'key id' }))
  }
  if (!mac1Matches(mac1Key(pinned ? ownKey : undefined, ctx.psk), hello)) {
    // One HMAC, no DH: a wrong token costs the relay next to nothing. The refusal is a cleartext hint.
    return refuse(ctx, hello, Refusal.AUTH, new HandshakeError('TUN_AUTH_REFUSED', 'the hello\'s mac1 does not verify: the client\'s auth.token differs (or the hello was altered)', { reason: 'mac1' }))
  }
  const plaintext = (hello.flags & HelloFlag.PLAINTEXT) !== 0
  if (plaintext !== ctx.plaintext) {
    return refuse(ctx, hello, Refusal.TRANSPORT, new HandshakeError('TUN_TRANSPORT_MISMATCH', `the client has transport.insecurePlaintext ${String(plaintext)}, this relay ${String(ctx.plaintext)}`, { reason: 'plaintext' }))
  }
  const ephemeral = hello.noise.subarray(0, 32)
  if (ctx.guard.seen(ephemeral, ctx.nowMs)) {
    return refuse(ctx, hello, Refusal.REPLAY, new HandshakeError('TUN_REPLAY', 'a hello was replayed (its ephemeral key was seen before)', { reason: 'ephemeral seen' }))
  }
  if (ctx.dhAllowed?.() === false) {
    return refuse(ctx, hello, Refusal.BUSY, new HandshakeError('TUN_RELAY_BUSY', 'the relay\'s budget of handshakes is used up for now', { reason: 'dh budget' }))
  }
  const state = new HandshakeState({
    pattern: pinned ? 'IKpsk1' : 'INpsk1',
    initiator: false,
    prologue: hello.prologue,
    psk: ctx.psk,
    ...(pinned && ctx.staticKey !== undefined ? { staticKey: ctx.staticKey } : {}),
    ...(ctx.ephemeral === undefined ? {} : { ephemeral: ctx.ephemeral }),
  })
  let payload: Buffer
  try {
    payload = state.readMessage(hello.noise)
  } catch (err) {
    // mac1 proved the token: a message that does not decrypt was made or altered by someone else.
    if (err instanceof DecryptError) return refuse(ctx, hello, Refusal.AUTH, new HandshakeError('TUN_HANDSHAKE_INVALID', 'message 1 did not decrypt', { reason: 'decrypt' }), true)
    if (err instanceof HandshakeError) return refuse(ctx, hello, Refusal.AUTH, err, true)
    throw err
  }
  const clientKey = state.remoteStatic
  if (clientKey === undefined) throw new TypeError('message 1 carried no static key')
  ctx.guard.remember(ephemeral, ctx.nowMs)
  const { timestampMs, controlVersion } = decodeHelloPayload(payload)
  const result = verdict(ctx, hello.clientId, clientKey, timestampMs, controlVersion)
  const message2 = state.writeMessage(encodeAcceptPayload({ result: result.code, relayTimeMs: ctx.nowMs, controlVersion: Math.max(...ctx.controlVersions) }))
  const reply = encodeAccept(message2)
  if (result.error !== undefined) return { ok: false, reply, error: result.error, clientId: hello.clientId }
  const keys = state.split()
  return {
    ok: true,
    reply,
    clientId: hello.clientId,
    clientKey,
    pinned,
    sessionId: keys.handshakeHash.subarray(0, 8).toString('hex'),
    send: keys.send,
    recv: keys.recv,
    timestampMs,
    commit: () => { ctx.guard.commit(hello.clientId, timestampMs) },
  }
}

function verdict (ctx: RelayHandshakeContext, clientId: string, clientKey: Uint8Array, timestampMs: number, controlVersion: number): { code: Refusal, error?: HandshakeError } {
  const authenticated = { authenticated: true }
  if (ctx.clientKeyAllowed !== undefined && !ctx.clientKeyAllowed(clientKey, clientId)) {
    return { code: Refusal.CLIENT_KEY, error: new HandshakeError('TUN_CLIENT_KEY_REFUSED', `client key ${clientKeyId(clientKey)} may not log in as clientID ${clientId} (auth.clientKeys)`, { reason: 'client key', ...authenticated }) }
  }
  if (!ctx.controlVersions.includes(controlVersion)) {
    return { code: Refusal.VERSION, error: new HandshakeError('TUN_PROTOCOL_VERSION', `the client speaks control protocol ${controlVersion}, this relay ${ctx.controlVersions.join(', ')}: upgrade the older side`, { reason: 'control version', ...authenticated }) }
  }
  const fresh = ctx.guard.freshness(timestampMs, ctx.nowMs)
  if (fresh !== 'ok') {
    const skewS = Math.round((timestampMs - ctx.nowMs) / 1000)
    return { code: Refusal.CLOCK, error: new HandshakeError('TUN_CLOCK_SKEW', `the client's timestamp is ${Math.abs(skewS)} s ${skewS > 0 ? 'ahead' : 'behind'} (allowed ±${Math.round(ctx.guard.maxSkewMs / 1000)} s)`, { reason: fresh, ...authenticated }) }
  }
  if (!ctx.guard.isNewer(clientId, timestampMs)) {
    return { code: Refusal.REPLAY, error: new HandshakeError('TUN_REPLAY', 'the timestamp is not newer than this client id\'s last login (a replay, or two clients share a clientID)', { reason: 'timestamp not newer', ...authenticated }) }
  }
  return { code: Refusal.OK }
}
