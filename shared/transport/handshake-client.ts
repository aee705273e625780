// The client's half of the handshake, pure and synchronous: build the hello (Noise message 1 of
// IKpsk1 when the relay key is pinned, INpsk1 otherwise; both carry the client's static key, its
// identity), then turn the relay's answer into transport keys or a HandshakeError whose code and
// one-line message say what to change.
import { HandshakeError } from '../errors.js'
import { CONTROL_PROTOCOL_VERSION } from '../wire/index.js'
import {
  computeMac1, decodeAcceptPayload, encodeHelloHeader, encodeHelloPayload, HelloFlag, prologueOf, Refusal, type Response,
} from './handshake.js'
import { clientKeyId, formatKeyId, keyId, mac1Key } from './keys.js'
import { DecryptError, HandshakeState, type CipherState, type KeyPair } from './noise.js'

export interface ClientHandshakeOptions {
  clientId: string
  psk: Uint8Array
  /** This client's static key pair (its identity: auth.clientKey, or the generated key file). */
  clientKey: KeyPair
  /** auth.serverKey; undefined = unpinned (INpsk1). */
  serverKey: Uint8Array | undefined
  plaintext: boolean
  /** Wall-clock time for the timestamp; the caller keeps it strictly increasing. */
  nowMs: number
  /** Tests only. */
  ephemeral?: KeyPair
}

export interface ClientKeys {
  send: CipherState
  recv: CipherState
  /** First 8 bytes of the handshake hash, hex: the same on both sides. */
  sessionId: string
  relayTimeMs: number
}

export class ClientHandshake {
  readonly hello: Buffer
  readonly #state: HandshakeState
  readonly #options: ClientHandshakeOptions

  constructor (o: ClientHandshakeOptions) {
    this.#options = o
    const pinned = o.serverKey !== undefined
    const flags = (pinned ? HelloFlag.PINNED : 0) | (o.plaintext ? HelloFlag.PLAINTEXT : 0)
    const header = encodeHelloHeader(flags, keyId(o.serverKey), o.clientId)
    this.#state = new HandshakeState({
      pattern: pinned ? 'IKpsk1' : 'INpsk1',
      initiator: true,
      prologue: prologueOf(header),
      psk: o.psk,
      staticKey: o.clientKey,
      ...(o.serverKey === undefined ? {} : { remoteStaticKey: o.serverKey }),
      ...(o.ephemeral === undefined ? {} : { ephemeral: o.ephemeral }),
    })
    const message1 = this.#state.writeMessage(encodeHelloPayload({ timestampMs: o.nowMs, controlVersion: CONTROL_PROTOCOL_VERSION }))
    const macInput = Buffer.concat([header, message1])
    this.hello = Buffer.concat([macInput, computeMac1(mac1Key(o.serverKey, o.psk), macInput)])
  }

  /** Transport keys from an accept, or a HandshakeError for a refusal or a bad answer. */
  finish (response: Response): ClientKeys {
    if (response.kind === 'refuse') throw this.#refused(response.code, response.relayKeyId)
    let payload: Buffer
    try {
      payload = this.#state.readMessage(response.message2)
    } catch (err) {
      if (!(err instanceof DecryptError)) throw err
      throw this.#options.serverKey !== undefined
        ? new HandshakeError('TUN_SERVER_KEY_MISMATCH', 'the relay\'s answer did not authenticate against auth.serverKey: the relay holds another key, or someone is in the middle', { reason: 'answer decrypt' })
        : new HandshakeError('TUN_AUTH_REFUSED', 'the relay\'s answer did not authenticate with auth.token: the relay uses another token, or someone is in the middle', { reason: 'answer decrypt' })
    }
    const { result, relayTimeMs, controlVersion } = decodeAcceptPayload(payload)
    if (result !== Refusal.OK) throw this.#refusedInside(result, relayTimeMs, controlVersion)
    const keys = this.#state.split()
    return { send: keys.send, recv: keys.recv, sessionId: keys.handshakeHash.subarray(0, 8).toString('hex'), relayTimeMs }
  }

  /** A refusal in cleartext: unauthenticated, so only a hint (the client retries it once it has logged in before). */
  #refused (code: number, relayKeyId: Buffer): HandshakeError {
    const o = this.#options
    const reason = `refused ${code}`
    switch (code) {
      case Refusal.AUTH:
        return new HandshakeError('TUN_AUTH_REFUSED', 'the relay refused the handshake: auth.token does not match the relay\'s', { reason })
      case Refusal.KEY:
        return new HandshakeError('TUN_SERVER_KEY_MISMATCH', `the relay's key (id ${relayKeyId.toString('hex')}) is not the one pinned in auth.serverKey (id ${formatKeyId(o.serverKey)}): copy the relay's public key from tunnel keygen, or someone is in the middle`, { reason })
      case Refusal.NO_KEY:
        return new HandshakeError('TUN_SERVER_KEY_MISMATCH', 'auth.serverKey is set, but the relay has no private key (auth.privateKey / auth.privateKeyFile): configure the relay, or someone is in the middle', { reason })
      case Refusal.TRANSPORT:
        return new HandshakeError('TUN_TRANSPORT_MISMATCH', `transport.insecurePlaintext is ${String(o.plaintext)} here but ${String(!o.plaintext)} on the relay: set the same on both sides`, { reason })
      case Refusal.REPLAY:
        return new HandshakeError('TUN_REPLAY', 'the relay saw this handshake before (a replay): retrying with a new one', { reason })
      case Refusal.BUSY:
        return new HandshakeError('TUN_RELAY_BUSY', 'the relay has too many handshakes in progress: retrying', { reason })
      case Refusal.VERSION:
        return new HandshakeError('TUN_PROTOCOL', 'the relay speaks another handshake version: upgrade the older side', { reason })
      case Refusal.CLOCK:
        return new HandshakeError('TUN_CLOCK_SKEW', 'the relay refused the handshake: this machine\'s clock differs too much from the relay\'s; fix the clock (NTP)', { reason })
      case Refusal.TLS_REQUIRED:
        return new HandshakeError('TUN_TLS_REQUIRED', 'the relay accepts only TLS clients (its transport.tls.force): set transport.tls.enable: true, or transport.protocol: wss', { reason })
      default:
        return new HandshakeError('TUN_HANDSHAKE_INVALID', `the relay refused the handshake with unknown code ${code}`, { reason })
    }
  }

  /** A refusal inside message 2: the relay proved it knows the token (and the pinned key). */
  #refusedInside (result: number, relayTimeMs: number, relayVersion: number): HandshakeError {
    const opts = { reason: `refused ${result}`, authenticated: true }
    switch (result) {
      case Refusal.CLOCK: {
        const skew = Math.round((this.#options.nowMs - relayTimeMs) / 1000)
        const side = skew > 0 ? 'ahead of' : 'behind'
        return new HandshakeError('TUN_CLOCK_SKEW', `the relay refused the login: this machine's clock is ${Math.abs(skew)} s ${side} the relay's, more than its transport.maxClockSkew allows; fix the clock (NTP)`, opts)
      }
      case Refusal.REPLAY:
        return new HandshakeError('TUN_REPLAY', `the relay has a newer login of clientID ${this.#options.clientId}: another client uses the same clientID, or this clock went back; retrying`, opts)
      case Refusal.CLIENT_KEY:
        return new HandshakeError('TUN_CLIENT_KEY_REFUSED', `the relay does not accept this client's key (id ${clientKeyId(this.#options.clientKey.publicKey)}) for clientID ${this.#options.clientId}: ask its operator to add the public key to auth.clientKeys (tunnel keygen --client --show)`, opts)
      case Refusal.VERSION: {
        const theirs = relayVersion === 0 ? 'another control protocol version' : `control protocol ${relayVersion}`
        return new HandshakeError('TUN_PROTOCOL_VERSION', `the relay speaks ${theirs}, this client ${CONTROL_PROTOCOL_VERSION}: upgrade the older side`, opts)
      }
      default:
        return new HandshakeError('TUN_HANDSHAKE_INVALID', `the relay refused the login with unknown code ${result}`, opts)
    }
  }
}
