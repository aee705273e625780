// The relay's side of the handshake on a socket: read the hello within the deadline, answer
// it (shared/transport/handshake-relay.ts decides), and wrap the socket in the record layer.
// With transport.insecurePlaintext the client's first transport record (an empty one) is read
// here, so key confirmation happens before the session exists in both modes.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { HandshakeError, TunnelError } from '../shared/errors.js'
import { encodeRefusal, MAX_HELLO_BYTES, parseHello, Refusal, type Hello, readHandshakeMessage, answerHello, relayKeyId, type RelayHandshakeContext, type KeyPair, RecordOpener, RECORD_HEADER_BYTES, type RecordLimits, recordWire, type RecordWire, type ReplayGuard, TAG_BYTES } from '../shared/transport/index.js'

export interface AcceptOptions {
  staticKey: KeyPair | undefined
  psk: Uint8Array
  plaintext: boolean
  guard: ReplayGuard
  /** Wall clock, ms (injected for tests). */
  now: () => number
  /** Control protocol versions the relay speaks. */
  controlVersions: readonly number[]
  /** auth.clientKeys: whether a client key may log in as a client id; absent = any key. */
  clientKeyAllowed?: (clientKey: Uint8Array, clientId: string) => boolean
  /** The relay's DH budget: false refuses the handshake BUSY before any DH. */
  dhAllowed?: () => boolean
  /** The hello decrypted: the client knows the token (its gate slot is never dropped from now on). */
  onProven?: () => void
  /** Aborts at the handshake deadline. */
  signal: AbortSignal
  limits?: RecordLimits
  logger: Logger
}

export interface SecureLink {
  wire: RecordWire
  clientId: string
  /** The client's static public key (its identity), proven in the handshake. */
  clientKey: Uint8Array
  sessionId: string
  pinned: boolean
  /** Records the login timestamp: call when the session becomes active. */
  commit: () => void
  /** Turns TCP keepalive off (a NAT probe must stay silent while idle). */
  noKeepAlive: () => void
}

export type AcceptResult =
  | { ok: true, link: SecureLink }
  | { ok: false, error: TunnelError, clientId: string | undefined }

const closedEarly = (): TunnelError => new HandshakeError('TUN_SESSION_CLOSED', 'the peer closed the connection during the handshake', { reason: 'closed' })

/** Writes `reply` (if any) and closes; the socket is destroyed a moment later in any case. */
function refuseAndClose (socket: Socket, reply: Buffer): void {
  if (reply.length === 0 || socket.destroyed) { socket.destroy(); return }
  socket.end(reply)
  setTimeout(() => socket.destroy(), 1_000).unref()
}

export async function acceptSecureConnection (socket: Socket, o: AcceptOptions): Promise<AcceptResult> {
  let hello: Hello
  let rest: Buffer
  try {
    ({ value: hello, rest } = await readHandshakeMessage(socket, (buf) => {
      const r = parseHello(buf)
      return r === undefined ? undefined : { value: r.hello, used: r.used }
    }, { maxBytes: MAX_HELLO_BYTES, signal: o.signal, closed: closedEarly }))
  } catch (err) {
    const error = err instanceof TunnelError ? err : new HandshakeError('TUN_HANDSHAKE_INVALID', String(err), { reason: 'internal' })
    refuseAndClose(socket, err instanceof HandshakeError && err.reason === 'version' ? encodeRefusal(Refusal.VERSION, relayKeyId(o)) : Buffer.alloc(0))
    return { ok: false, error, clientId: undefined }
  }
  const ctx: RelayHandshakeContext = { staticKey: o.staticKey, psk: o.psk, plaintext: o.plaintext, guard: o.guard, nowMs: o.now(), controlVersions: o.controlVersions, ...(o.clientKeyAllowed === undefined ? {} : { clientKeyAllowed: o.clientKeyAllowed }), ...(o.dhAllowed === undefined ? {} : { dhAllowed: o.dhAllowed }) }
  let outcome: ReturnType<typeof answerHello>
  try {
    outcome = answerHello(hello, ctx)
  } catch (err) {
    // Never expected (peer input is checked before use); a bug must not take the relay down.
    socket.destroy()
    return { ok: false, error: new HandshakeError('TUN_HANDSHAKE_INVALID', `internal error in the handshake: ${String(err)}`, { reason: 'internal', cause: err }), clientId: hello.clientId }
  }
  if (!outcome.ok) {
    refuseAndClose(socket, outcome.reply)
    return { ok: false, error: outcome.error, clientId: outcome.clientId }
  }
  o.onProven?.()
  socket.write(outcome.reply)
  let initial = rest
  if (o.plaintext) {
    try {
      initial = await readConfirmation(socket, new RecordOpener(outcome.recv), rest, o.signal)
    } catch (err) {
      socket.destroy()
      return { ok: false, error: err instanceof TunnelError ? err : new TunnelError('TUN_RECORD_AUTH', String(err)), clientId: outcome.clientId }
    }
  }
  const wire = recordWire(socket, {
    ciphers: o.plaintext ? undefined : outcome,
    initial,
    logger: o.logger,
    ...(o.limits === undefined ? {} : { limits: o.limits }),
  })
  return { ok: true, link: { wire, clientId: outcome.clientId, clientKey: outcome.clientKey, sessionId: outcome.sessionId, pinned: outcome.pinned, commit: outcome.commit, noKeepAlive: () => { socket.setKeepAlive(false) } } }
}

/** The one empty record a plaintext-mode client sends first (key confirmation); returns what follows it. */
async function readConfirmation (socket: Socket, opener: RecordOpener, initial: Buffer, signal: AbortSignal): Promise<Buffer> {
  const size = RECORD_HEADER_BYTES + TAG_BYTES
  const { value, rest } = await readHandshakeMessage(socket, (buf) => {
    if (buf.length >= RECORD_HEADER_BYTES && buf.readUInt16BE(0) !== TAG_BYTES) {
      throw new TunnelError('TUN_RECORD_AUTH', 'the first record is not the empty confirmation record')
    }
    return buf.length < size ? undefined : { value: buf.subarray(0, size), used: size }
  }, { maxBytes: size, signal, initial, closed: closedEarly })
  opener.push(Buffer.from(value))
  if (opener.records !== 1) throw new TunnelError('TUN_RECORD_AUTH', 'the confirmation record did not authenticate')
  return rest
}
