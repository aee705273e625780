// The relay's answer to a client's diagRequest: its own side of that client's control
// connection (peer-view.ts), or why it cannot give it. Never throws: every failure is an answer.
import type { Logger } from 'pino'
import type { ErrorCode } from '../shared/errors.js'
import type { RelaySession } from '../shared/mux/index.js'
import { normalizeAddress, parseHostPort } from '../shared/net/index.js'
import { MessageType } from '../shared/wire/index.js'
import type { PeerViewSource } from './peer-view.js'

export function answerDiag (session: RelaySession, source: PeerViewSource | undefined, remote: string, id: number, log: Logger): void {
  const refuse = (code: ErrorCode, message: string): void => { session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: false, code, message }) }
  const peer = parseHostPort(remote)
  if (source === undefined || 'error' in peer) { refuse('TUN_DIAG_SOURCE', 'this relay cannot report on the connection'); return }
  source(normalizeAddress(peer.host), peer.port).then((view) => {
    if (view === 'busy') { refuse('TUN_RELAY_BUSY', 'the relay is already reporting on another connection: ask again in a moment'); return }
    session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: true, view })
  }, (err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err)
    log.warn({ err: reason }, 'diag request failed')
    refuse('TUN_DIAG_SOURCE', `the relay could not read its side: ${reason}`)
  })
}
