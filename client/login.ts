// Sends the login (the client's first record: key confirmation) and waits for the relay's
// answer. Used by the client agent and by NAT probes; the caller decides what a refusal means.
import { hostname } from 'node:os'
import { TunnelError } from '../shared/errors.js'
import type { ClientSession } from '../shared/mux/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType, type LoginResult, type RelayMessage } from '../shared/wire/index.js'

export const LOGIN_TIMEOUT_MS = 10_000

export interface LoginFields {
  clientId: string
  user: string
  probeIdleMs?: number
  /** frp's metadatas, for the relay's plugins. */
  metas?: Record<string, string>
}

/** Resolves with the relay's answer (ok or refused); rejects on timeout or a closed session. */
export function login (session: ClientSession, fields: LoginFields, timeoutMs = LOGIN_TIMEOUT_MS): Promise<LoginResult> {
  return new Promise<LoginResult>((resolve, reject) => {
    const timer = setTimeout(() => { done(new TunnelError('TUN_LOGIN_TIMEOUT', `the relay did not answer the login within ${timeoutMs} ms`)) }, timeoutMs)
    const onControl = (m: RelayMessage): void => {
      if (m.type === MessageType.LOGIN_RESULT) done(m)
    }
    const onClose = (err: TunnelError | undefined): void => {
      done(err ?? new TunnelError('TUN_SESSION_CLOSED', 'the relay closed the connection during login'))
    }
    const done = (outcome: LoginResult | TunnelError): void => {
      clearTimeout(timer)
      session.off('control', onControl)
      session.off('close', onClose)
      if (outcome instanceof TunnelError) reject(outcome)
      else resolve(outcome)
    }
    session.on('control', onControl)
    session.on('close', onClose)
    session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId: fields.clientId, user: fields.user, hostname: hostname(), ...(fields.probeIdleMs === undefined ? {} : { probeIdleMs: fields.probeIdleMs }), ...(fields.metas === undefined ? {} : { metas: fields.metas }) })
  })
}
