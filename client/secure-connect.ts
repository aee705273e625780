// The client's side of the handshake on a connected socket: send the hello, read the relay's
// answer within transport.handshakeTimeout, and wrap the socket in the record layer. With
// transport.insecurePlaintext the client then sends one empty sealed record (key confirmation)
// and the rest travels unencrypted.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { HandshakeError } from '../shared/errors.js'
import { ACCEPT_BYTES, parseResponse, ClientHandshake, readHandshakeMessage, RecordSealer, type RecordLimits, recordWire, type RecordWire, type KeyPair } from '../shared/transport/index.js'

export interface SecureConnectOptions {
  clientId: string
  /** This client's static key pair: its identity on the relay. */
  clientKey: KeyPair
  psk: Uint8Array
  serverKey: Uint8Array | undefined
  plaintext: boolean
  timestampMs: number
  timeoutMs: number
  /** The client stopping. */
  signal: AbortSignal
  limits?: RecordLimits
  logger: Logger
}

export interface SecureConnection {
  wire: RecordWire
  sessionId: string
  relayTimeMs: number
}

export async function secureConnect (socket: Socket, o: SecureConnectOptions): Promise<SecureConnection> {
  const handshake = new ClientHandshake({ clientId: o.clientId, clientKey: o.clientKey, psk: o.psk, serverKey: o.serverKey, plaintext: o.plaintext, nowMs: o.timestampMs })
  socket.write(handshake.hello)
  const deadline = AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)])
  const { value, rest } = await readHandshakeMessage(socket, (buf) => {
    const r = parseResponse(buf)
    return r === undefined ? undefined : { value: r.response, used: r.used }
  }, {
    maxBytes: ACCEPT_BYTES,
    signal: deadline,
    closed: () => new HandshakeError('TUN_SESSION_CLOSED', 'the relay closed the connection during the handshake without a reason (it may be restarting or overloaded)', { reason: 'closed' }),
  })
  const keys = handshake.finish(value)
  if (o.plaintext) socket.write(Buffer.concat(new RecordSealer(keys.send).seal([])))
  const wire = recordWire(socket, {
    ciphers: o.plaintext ? undefined : keys,
    initial: rest,
    logger: o.logger,
    ...(o.limits === undefined ? {} : { limits: o.limits }),
  })
  return { wire, sessionId: keys.sessionId, relayTimeMs: keys.relayTimeMs }
}
