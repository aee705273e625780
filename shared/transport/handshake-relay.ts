// The relay's half of the handshake, pure and synchronous (clock injected). Cheapest checks
// first, and no Diffie-Hellman before the replay cache has been consulted:
//   1. key id: a client pinning another key (or any key when the relay has none) → refusal;
//   2. mac1 over the header and message 1, keyed by the relay's public key → silent close;
//   3. transport.insecurePlaintext on both sides must agree → refusal;
//   4. ephemeral key already seen within the window → refusal (replay), still no DH;
//   5. Noise: psk, e, es (NKpsk0) and decrypt; a wrong token fails here → refusal;
//   6. timestamp within ±maxSkew and newer than this client id's last login → else an
//      encrypted message 2 carrying the reason (only the real client can read it);
//   7. message 2 and Split(). The caller activates the session only after the client's first
//      transport record decrypts, then calls commit() to record the timestamp.
import { HandshakeError } from '../errors.js'
import {
  DecryptError, HandshakeState, type CipherState, type KeyPair,
} from './noise.js'
import {
  decodeHelloPayload, encodeAccept, encodeAcceptPayload, encodeRefusal, HelloFlag, mac1Matches, Refusal, type Hello,
} from './handshake.js'
import { keyId, mac1Key } from './keys.js'
import type { ReplayGuard } from './replay.js'

export interface RelayHandshakeContext {
  /** The relay's static key pair; undefined = only unpinned (NNpsk0) clients are accepted. */
  staticKey: KeyPair | undefined
  psk: Uint8Array
  plaintext: boolean
  guard: ReplayGuard
  nowMs: number
  /** Control protocol versions this relay speaks (the client's is in message 1). */
  controlVersions: readonly number[]
  /** Tests only. */
  ephemeral?: KeyPair
}

export interface RelayAccepted {
  ok: true
  reply: Buffer
  clientId: string
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
  if (!mac1Matches(mac1Key(pinned ? ownKey : undefined), hello)) {
    return refuse(ctx, hello, Refusal.AUTH, new HandshakeError('TUN_HANDSHAKE_INVALID', 'the hello\'s mac1 does not verify', { reason: 'mac1' }), true)
  }
  const plaintext = (hello.flags & HelloFlag.PLAINTEXT) !== 0
  if (plaintext !== ctx.plaintext) {
    return refuse(ctx, hello, Refusal.TRANSPORT, new HandshakeError('TUN_TRANSPORT_MISMATCH', `the client has transport.insecurePlaintext ${String(plaintext)}, this relay ${String(ctx.plaintext)}`, { reason: 'plaintext' }))
  }
  const ephemeral = hello.noise.subarray(0, 32)
  if (ctx.guard.seen(ephemeral, ctx.nowMs)) {
    return refuse(ctx, hello, Refusal.REPLAY, new HandshakeError('TUN_REPLAY', 'a hello was replayed (its ephemeral key was seen before)', { reason: 'ephemeral seen' }))
  }
  const state = new HandshakeState({
    pattern: pinned ? 'NKpsk0' : 'NNpsk0',
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
    if (err instanceof DecryptError) {
      return refuse(ctx, hello, Refusal.AUTH, new HandshakeError('TUN_AUTH_REFUSED', 'message 1 did not decrypt: the client\'s auth.token differs', { reason: 'decrypt' }))
    }
    if (err instanceof HandshakeError) return refuse(ctx, hello, Refusal.AUTH, err, true)
    throw err
  }
  ctx.guard.remember(ephemeral, ctx.nowMs)
  const { timestampMs, controlVersion } = decodeHelloPayload(payload)
  const result = verdict(ctx, hello.clientId, timestampMs, controlVersion)
  const message2 = state.writeMessage(encodeAcceptPayload({ result: result.code, relayTimeMs: ctx.nowMs, controlVersion: Math.max(...ctx.controlVersions) }))
  const reply = encodeAccept(message2)
  if (result.error !== undefined) return { ok: false, reply, error: result.error, clientId: hello.clientId }
  const keys = state.split()
  return {
    ok: true,
    reply,
    clientId: hello.clientId,
    pinned,
    sessionId: keys.handshakeHash.subarray(0, 8).toString('hex'),
    send: keys.send,
    recv: keys.recv,
    timestampMs,
    commit: () => { ctx.guard.commit(hello.clientId, timestampMs) },
  }
}

function verdict (ctx: RelayHandshakeContext, clientId: string, timestampMs: number, controlVersion: number): { code: Refusal, error?: HandshakeError } {
  const authenticated = { authenticated: true }
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
