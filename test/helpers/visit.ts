// A raw visitor for hostile-input tests of secret proxies: a logged-in control session (any
// user) that opens visit streams with whatever proof, nonce and time the test chooses, built
// from the project's own modules (the proof from shared/visit, the session from shared/mux).
import type { TunnelError } from '../../shared/errors.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { newVisitNonce, proveVisit, visitKeysFor } from '../../shared/visit/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { type VisitBlock, VisitKind } from '../../shared/wire/visit.js'
import { rawSession, type RawControl } from './in-process.js'

/** A session logged in as `user`, announcing every capability (visit included). */
export async function rawVisitor (port: number, clientId: string, user: string): Promise<RawControl> {
  const raw = await rawSession(port, clientId)
  raw.session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user, hostname: 'test' })
  const login = await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT)
  if (login.ok !== true) throw new Error(`login refused: ${JSON.stringify(login)}`)
  return raw
}

export interface VisitSpec {
  target: string
  secret: string
  /** The user the proofs are made over (the relay uses the session's: a lie fails the proof). */
  user: string
  kind?: VisitKind
  nonce?: Buffer
  timestampMs?: number
}

/** The visit block a visitor would send (fresh nonce and now unless given). */
export function visitBlock (v: VisitSpec): VisitBlock {
  const kind = v.kind ?? VisitKind.STCP
  const nonce = v.nonce ?? newVisitNonce()
  const timestampMs = v.timestampMs ?? Date.now()
  const macs = proveVisit(visitKeysFor(Buffer.from(v.secret), v.target), { kind, target: v.target, user: v.user, nonce, timestampMs })
  return { kind, nonce, timestampMs, ...macs, user: '' }
}

export interface OpenedVisit {
  stream: MuxStream
  /** Bytes that came back. */
  received: () => Buffer
  /** The error the stream closed with (undefined: closed cleanly). */
  closed: Promise<TunnelError | undefined>
}

/** Opens a visit stream with `block` (a test may alter it) toward `target`. */
export function openVisit (raw: RawControl, target: string, block: VisitBlock): OpenedVisit {
  const stream = raw.session.openStream({ proxy: target, visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 }, visit: block })
  const parts: Buffer[] = []
  const closed = new Promise<TunnelError | undefined>((resolve) => {
    stream.attach({
      data (chunk) { parts.push(chunk); stream.consume(chunk.length) },
      end () { stream.end() },
      drain () {},
      close (err) { resolve(err) },
    })
  })
  return { stream, received: () => Buffer.concat(parts), closed }
}
