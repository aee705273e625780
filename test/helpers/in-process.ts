// A relay and clients in one process (no CLI), for tests of the control protocol and of
// Client.reload: a relay on a free loopback port, a Client driven by its events, a bare control
// session that sends whatever control messages a test wants (a raw peer), and a logger that
// keeps its lines. Everything made here is closed by closeInProcess().
import { connect, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { Client, type ClientOptions } from '../../client/index.js'
import { secureConnect } from '../../client/secure-connect.js'
import { Relay, type RelayOptions } from '../../server/index.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import type { ClientConfig } from '../../shared/config/types.js'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { Session, type ClientSession } from '../../shared/mux/session.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { derivePsk } from '../../shared/transport/keys.js'
import { generateKeyPair, type KeyPair } from '../../shared/transport/noise.js'
import type { RecordWire } from '../../shared/transport/record-wire.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, encodeControlMessage, MessageType, type ClientMessage, type ProxyResult } from '../../shared/wire/control.js'
import { encodeHeader, FrameType } from '../../shared/wire/frame.js'

export const IN_PROCESS_TOKEN = 'in-process-token'
/** A hang guard for logins, results and raw handshakes: generous, since a busy machine (a full suite beside CPU loops) has taken more than 5 s for one login. */
const WAIT_MS = 20_000

const relays: Relay[] = []
const clients: Array<{ client: Client, running: Promise<void> }> = []
const raws: RawControl[] = []
const writers: RawWire[] = []

export async function closeInProcess (): Promise<void> {
  for (const r of raws.splice(0)) r.session.close()
  for (const w of writers.splice(0)) w.close()
  await Promise.all(clients.splice(0).map(async ({ client, running }) => {
    client.close(0)
    await running.catch(() => {})
  }))
  for (const r of relays.splice(0)) r.destroy()
}

export interface MemoryLogger {
  log: Logger
  lines: Array<Record<string, unknown>>
}

/** A pino logger at `level` whose lines are parsed into `lines`. */
export function memoryLogger (level = 'debug'): MemoryLogger {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Record<string, unknown>)
      done()
    },
  })
  return { log: pino({ level }, sink), lines }
}

export async function startRelayInProcess (extraYaml = '', log: Logger = silentLogger(), bindPort = 0, options: RelayOptions = {}): Promise<{ relay: Relay, port: number }> {
  const config = parseServerConfig(`bindAddr: 127.0.0.1\nbindPort: ${bindPort}\nauth:\n  token: ${IN_PROCESS_TOKEN}\n${extraYaml}`, 'frps.yml', {}).config
  const relay = new Relay(config, log, options)
  relays.push(relay)
  return { relay, port: (await relay.start()).port }
}

/** A client config from frpc.yml text (serverAddr, serverPort and auth are added). */
export function clientConfig (port: number, yaml: string, file = 'frpc.yml'): ClientConfig {
  return parseClientConfig(`serverAddr: 127.0.0.1\nserverPort: ${port}\nauth:\n  token: ${IN_PROCESS_TOKEN}\n${yaml}`, file, {}).config
}

export interface RunningClient {
  client: Client
  /** Every proxy result so far, in order. */
  results: ProxyResult[]
  /** Waits for the result of `name` after the `from`-th result. */
  result: (name: string, from?: number) => Promise<ProxyResult>
}

/** Runs a Client until closeInProcess(); resolves after its login and one result per proxy. */
export async function startClientInProcess (config: ClientConfig, log: Logger = silentLogger(), options: ClientOptions = {}): Promise<RunningClient> {
  const client = new Client(config, log, { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 }, ...options })
  const results: ProxyResult[] = []
  client.on('proxy', (r) => { results.push(r) })
  const loggedIn = new Promise<void>((resolve) => { client.once('login', () => { resolve() }) })
  const running = client.run()
  clients.push({ client, running })
  await withTimeout(loggedIn, 'login')
  const result = async (name: string, from = 0): Promise<ProxyResult> => await withTimeout(new Promise<ProxyResult>((resolve) => {
    const check = (): boolean => {
      const found = results.slice(from).find((r) => r.name === name)
      if (found === undefined) return false
      client.off('proxy', check)
      resolve(found)
      return true
    }
    if (!check()) client.on('proxy', check)
  }), `proxy result of ${name}`)
  for (const p of config.proxies) await result(p.name)
  return { client, results, result }
}

export interface RawControl {
  session: ClientSession
  /**
   * The session's record wire: frames written here leave as one record, in the order given,
   * bypassing the session's batching (which sends control frames ahead of stream data).
   */
  wire: RecordWire
  /** Sends any JSON value as a control message, unchecked (for hostile-input tests). */
  send: (message: unknown) => void
  /** Streams the relay opened (one per visitor), echoed back byte for byte. */
  streams: MuxStream[]
  /** Control messages from the relay, in order. */
  messages: Array<Record<string, unknown>>
  closed: Promise<TunnelError | undefined>
  /** The first message at index >= `from` that matches. */
  waitFor: (match: (m: Record<string, unknown>) => boolean, from?: number) => Promise<Record<string, unknown>>
}

/**
 * One client key per clientID, as a real client keeps across reconnects: a raw session that comes
 * back under the same clientID is the same client to the relay (not an impostor held off by the
 * ownership grace). Tests of impostors make their own keys.
 */
const keys = new Map<string, KeyPair>()
function keyOf (clientId: string): KeyPair {
  let key = keys.get(clientId)
  if (key === undefined) keys.set(clientId, key = generateKeyPair())
  return key
}

/** A logged-in control session that sends only what the test sends (a raw, possibly hostile peer). */
export interface RawOptions {
  /**
   * Streams of the proxies this names are accepted and their bytes taken, but never consumed: no
   * credit goes back (a client whose service never reads, or a hostile one). Others are echoed.
   */
  hold?: (proxy: string) => boolean
  /** The client key to use instead of the clientID's own (an impostor of that clientID). */
  key?: KeyPair
}

export async function rawControl (port: number, clientId: string, capabilities: readonly string[] = ALL_CAPABILITIES, token = IN_PROCESS_TOKEN, options: RawOptions = {}): Promise<RawControl> {
  const raw = await rawSession(port, clientId, token, options)
  raw.session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...capabilities], clientId, user: '', hostname: 'test' })
  const login = await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT)
  if (login.ok !== true) throw new Error(`login refused: ${JSON.stringify(login)}`)
  return raw
}

/** A control session right after the handshake, before any login: the test sends what it likes. */
export async function rawSession (port: number, clientId: string, token = IN_PROCESS_TOKEN, options: RawOptions = {}): Promise<RawControl> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const logger = silentLogger()
  const { wire } = await secureConnect(socket, {
    clientId, clientKey: options.key ?? keyOf(clientId), psk: derivePsk(token), serverKey: undefined, plaintext: false,
    timestampMs: Date.now(), timeoutMs: WAIT_MS, signal: new AbortController().signal, logger,
  })
  const session: ClientSession = new Session(wire, { role: 'client', logger })
  const streams: MuxStream[] = []
  session.on('stream', (stream) => {
    streams.push(stream)
    stream.accept()
    if (options.hold?.(stream.open?.proxy ?? '') === true) {
      stream.attach({ data () {}, end () {}, drain () {}, close () {} })
      return
    }
    stream.attach({
      data (chunk) { stream.write(chunk); stream.consume(chunk.length) },
      end () { stream.end() },
      drain () {},
      close () {},
    })
  })
  const messages: Array<Record<string, unknown>> = []
  const wakers = new Set<() => void>()
  session.on('control', (m) => { messages.push(m); for (const w of [...wakers]) w() })
  const closed = new Promise<TunnelError | undefined>((resolve) => { session.once('close', resolve) })
  const waitFor = async (match: (m: Record<string, unknown>) => boolean, from = 0): Promise<Record<string, unknown>> => await withTimeout(new Promise((resolve) => {
    const check = (): void => {
      const found = messages.slice(from).find(match)
      if (found === undefined) return
      wakers.delete(check)
      resolve(found)
    }
    wakers.add(check)
    check()
  }), 'control message')
  // sendControl only encodes its argument: a test may hand it anything, typed or not.
  const send = (message: unknown): void => { session.sendControl(message as ClientMessage) }
  const raw: RawControl = { session, wire, send, streams, messages, closed, waitFor }
  raws.push(raw)
  return raw
}

export interface RawWire {
  socket: Socket
  wire: RecordWire
  /** Writes frames (headers and payloads) as one batch. */
  send: (chunks: Buffer[]) => void
  close: () => void
}

/**
 * A client that logs in (the real handshake and a login record) and then only writes: it never
 * reads, so whatever the relay sends it stays queued on the relay's side (a hostile peer).
 */
export async function rawWriter (port: number, clientId: string, token = IN_PROCESS_TOKEN): Promise<RawWire> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const { wire } = await secureConnect(socket, {
    clientId, clientKey: keyOf(clientId), psk: derivePsk(token), serverKey: undefined, plaintext: false,
    timestampMs: Date.now(), timeoutMs: WAIT_MS, signal: new AbortController().signal, logger: silentLogger(),
  })
  // No data callback is ever registered: the socket stays paused and nothing is read.
  const login = encodeControlMessage({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user: '', hostname: 'test' })
  wire.write([encodeHeader(FrameType.CONTROL, 0, 0, login.length), login])
  const raw: RawWire = { socket, wire, send: (chunks) => { wire.write(chunks) }, close: () => { socket.destroy() } }
  writers.push(raw)
  return raw
}

async function withTimeout<T> (p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not seen within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}
