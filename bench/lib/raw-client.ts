// A hostile client for the attack bench, built from the project's own modules: the real
// handshake and login, then whatever frames the attack writes, with reading off when the attack
// wants a peer that never reads (the socket stays paused: the relay's replies pile up on its side).
import { connect, type Socket } from 'node:net'
import { silentLogger } from '../../shared/log.js'
import { derivePsk, decodeKey } from '../../shared/transport/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, encodeControlMessage, encodeHeader, FrameType, MessageType, ResetCode, type ClientMessage } from '../../shared/wire/index.js'
import { Session, type ClientSession } from '../../shared/mux/index.js'
import { login } from '../../client/login.js'
import { secureConnect } from '../../client/secure-connect.js'
import type { RecordWire } from '../../shared/transport/index.js'

export interface RawTarget {
  host: string
  port: number
  token: string
  /** The relay's public key (base64), as auth.serverKey. */
  serverKey: string
}

export interface RawClient {
  socket: Socket
  wire: RecordWire
  /** Writes frames (header and payload buffers) as one batch. */
  send: (chunks: Buffer[]) => void
  /** Sends a control message (unchecked: attacks may send anything). */
  control: (message: unknown) => void
  close: () => void
}

export async function rawClient (target: RawTarget, clientId: string, options: { read?: boolean } = {}): Promise<RawClient> {
  const socket = connect({ host: target.host, port: target.port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const key = decodeKey(target.serverKey)
  if (typeof key === 'string') throw new Error(`serverKey ${key}`)
  const { wire } = await secureConnect(socket, {
    clientId, psk: derivePsk(target.token), serverKey: key, plaintext: false,
    timestampMs: Date.now(), timeoutMs: 10_000, signal: new AbortController().signal, logger: silentLogger(),
  })
  // Reading starts only once a data callback is registered: an attack that never reads registers none.
  if (options.read === true) wire.onData(() => {})
  const control = (message: unknown): void => {
    const payload = encodeControlMessage(message as ClientMessage)
    wire.write([encodeHeader(FrameType.CONTROL, 0, 0, payload.length), payload])
  }
  control({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user: '', hostname: 'attack' })
  return { socket, wire, send: (chunks) => { wire.write(chunks) }, control, close: () => { socket.destroy() } }
}

export interface RawSession {
  session: ClientSession
  /** Sends a control message (unchecked: attacks may send anything). */
  control: (message: unknown) => void
  close: () => void
}

/**
 * A logged-in client whose control messages the attack writes itself, over the project's own mux
 * session (so it reads and counts the relay's answers, and answers its heartbeats).
 */
export async function rawSession (target: RawTarget, clientId: string, options: { user?: string } = {}): Promise<RawSession> {
  const socket = connect({ host: target.host, port: target.port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const key = decodeKey(target.serverKey)
  if (typeof key === 'string') throw new Error(`serverKey ${key}`)
  const logger = silentLogger()
  const { wire } = await secureConnect(socket, {
    clientId, psk: derivePsk(target.token), serverKey: key, plaintext: false,
    timestampMs: Date.now(), timeoutMs: 10_000, signal: new AbortController().signal, logger,
  })
  const session: ClientSession = new Session(wire, { role: 'client', logger })
  session.on('stream', (s) => { s.reset(ResetCode.REFUSED) })
  const r = await login(session, { clientId, user: options.user ?? '' })
  if (!r.ok) { session.close(); throw new Error(`login refused: ${r.code ?? ''} ${r.message ?? ''}`) }
  return { session, control: (m) => { session.sendControl(m as ClientMessage) }, close: () => { session.close() } }
}
