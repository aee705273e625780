// A hostile client for the attack bench, built from the project's own modules: the real
// handshake and login, then whatever frames the attack writes, with reading off when the attack
// wants a peer that never reads (the socket stays paused: the relay's replies pile up on its side).
// rawSessionClient() puts a mux session (client role) on top instead, for attacks that register
// proxies and take streams but misbehave in what they do with them.
import { connect, type Socket } from 'node:net'
import { silentLogger } from '../../shared/log.js'
import { Session, type ClientSession } from '../../shared/mux/index.js'
import { ClientHandshake, derivePsk, decodeKey, generateKeyPair, parseResponse, Refusal, type RecordWire } from '../../shared/transport/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, encodeControlMessage, encodeHeader, FrameType, MessageType, ResetCode, type ClientMessage, type ProxyResult, type RelayMessage } from '../../shared/wire/index.js'
import { login } from '../../client/login.js'
import { secureConnect } from '../../client/secure-connect.js'

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

/** A connected socket after the real handshake (a fresh client key each time). */
async function handshake (target: RawTarget, clientId: string, localAddress?: string): Promise<{ socket: Socket, wire: RecordWire }> {
  const socket = connect({ host: target.host, port: target.port, ...(localAddress === undefined ? {} : { localAddress }) })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const key = decodeKey(target.serverKey)
  if (typeof key === 'string') throw new Error(`serverKey ${key}`)
  try {
    const { wire } = await secureConnect(socket, {
      clientId, clientKey: generateKeyPair(), psk: derivePsk(target.token), serverKey: key, plaintext: false,
      timestampMs: Date.now(), timeoutMs: 10_000, signal: new AbortController().signal, logger: silentLogger(),
    })
    return { socket, wire }
  } catch (err) {
    socket.destroy()
    throw err
  }
}

export async function rawClient (target: RawTarget, clientId: string, options: { read?: boolean } = {}): Promise<RawClient> {
  const { socket, wire } = await handshake(target, clientId)
  // Reading starts only once a data callback is registered: an attack that never reads registers none.
  if (options.read === true) wire.onData(() => {})
  const control = (message: unknown): void => {
    const payload = encodeControlMessage(message as ClientMessage)
    wire.write([encodeHeader(FrameType.CONTROL, 0, 0, payload.length), payload])
  }
  control({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user: '', hostname: 'attack' })
  return { socket, wire, send: (chunks) => { wire.write(chunks) }, control, close: () => { socket.destroy() } }
}

export interface LoggedIn {
  session: ClientSession
  /** The relay's loginResult: ok, or its code. */
  result: { ok: true } | { ok: false, code: string }
  /** Control messages from the relay after the login, in order. */
  messages: RelayMessage[]
  close: () => void
}

/** A full login (handshake, login, its result) as `clientId`, with a fresh client key; rejects when the handshake fails. */
export async function rawLogin (target: RawTarget, clientId: string, options: { localAddress?: string, timeoutMs?: number } = {}): Promise<LoggedIn> {
  const { socket, wire } = await handshake(target, clientId, options.localAddress)
  const session: ClientSession = new Session(wire, { role: 'client', logger: silentLogger() })
  const messages: RelayMessage[] = []
  const result = await new Promise<LoggedIn['result']>((resolve) => {
    const timer = setTimeout(() => { resolve({ ok: false, code: 'timeout' }) }, options.timeoutMs ?? 10_000)
    session.on('control', (m) => {
      if (m.type !== MessageType.LOGIN_RESULT) { messages.push(m); return }
      clearTimeout(timer)
      resolve(m.ok ? { ok: true } : { ok: false, code: m.code ?? 'refused' })
    })
    session.once('close', (err) => { clearTimeout(timer); resolve({ ok: false, code: err?.code ?? 'closed' }) })
    session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user: '', hostname: 'attack' })
  })
  return { session, result, messages, close: () => { session.close(); socket.destroy() } }
}

/**
 * Sends one complete hello (with `token`, a fresh client key, unpinned) from `localAddress` and
 * reads the relay's answer: 0 for an accept, the refusal code, or 'closed' (closed unanswered).
 */
export async function helloOnce (target: RawTarget, token: string, localAddress: string, signal: AbortSignal): Promise<number | 'closed'> {
  const c = new ClientHandshake({ clientId: 'hello-flood', clientKey: generateKeyPair(), psk: derivePsk(token), serverKey: undefined, plaintext: false, nowMs: Date.now() })
  return await new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, localAddress })
    let buf = Buffer.alloc(0)
    const done = (r: number | 'closed'): void => { signal.removeEventListener('abort', abort); socket.destroy(); resolve(r) }
    const abort = (): void => { done('closed') }
    signal.addEventListener('abort', abort, { once: true })
    socket.on('error', () => {})
    socket.once('connect', () => { socket.write(c.hello) })
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const r = parseResponse(buf)
      if (r !== undefined) done(r.response.kind === 'refuse' ? r.response.code : Refusal.OK)
    })
    socket.once('close', () => { done('closed') })
  })
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
  const { wire } = await handshake(target, clientId)
  const session: ClientSession = new Session(wire, { role: 'client', logger: silentLogger() })
  session.on('stream', (s) => { s.reset(ResetCode.REFUSED) })
  const r = await login(session, { clientId, user: options.user ?? '' })
  if (!r.ok) { session.close(); throw new Error(`login refused: ${r.code ?? ''} ${r.message ?? ''}`) }
  return { session, control: (m) => { session.sendControl(m as ClientMessage) }, close: () => { session.close() } }
}
