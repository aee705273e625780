// A hostile client for the attack bench, built from the project's own modules: the real
// handshake and login, then whatever frames the attack writes, with reading off when the attack
// wants a peer that never reads (the socket stays paused: the relay's replies pile up on its side).
// rawSessionClient() puts a mux session (client role) on top instead, for attacks that register
// proxies and take streams but misbehave in what they do with them.
import { connect, type Socket } from 'node:net'
import { silentLogger } from '../../shared/log.js'
import { Session, type ClientSession } from '../../shared/mux/index.js'
import { derivePsk, decodeKey } from '../../shared/transport/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, encodeControlMessage, encodeHeader, FrameType, MessageType, type ClientMessage, type ProxyResult, type RelayMessage } from '../../shared/wire/index.js'
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

export interface RawSessionClient {
  session: ClientSession
  socket: Socket
  /** Registers one proxy (any spec, unchecked) and resolves with the relay's answer. */
  register: (spec: Record<string, unknown>) => Promise<ProxyResult>
  close: () => void
}

/** A logged-in client whose mux session the attack drives (streams and datagrams are the attack's to handle). */
export async function rawSessionClient (target: RawTarget, clientId: string): Promise<RawSessionClient> {
  const raw = await rawClient(target, clientId)
  const session: ClientSession = new Session(raw.wire, { role: 'client', logger: silentLogger() })
  const register = async (spec: Record<string, unknown>): Promise<ProxyResult> => await new Promise((resolve, reject) => {
    const onControl = (m: RelayMessage): void => {
      if (m.type !== MessageType.PROXY_RESULT || m.name !== spec.name) return
      session.off('control', onControl)
      resolve(m)
    }
    session.on('control', onControl)
    session.once('close', (err) => { reject(err ?? new Error('session closed')) })
    raw.control({ type: MessageType.REGISTER, proxies: [spec] })
  })
  return { session, socket: raw.socket, register, close: () => { session.close(); raw.close() } }
}
