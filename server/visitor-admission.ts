// The relay's fd budget for visitor connections that are not a tcp proxy's own (the http and
// https vhost ports): past the cap a connection is reset at once (no fd lingers, the visitor
// sees ECONNRESET instead of Node's silent close at fd exhaustion), counted and warned about
// (rate-limited); an admitted one gives its slot back when it closes.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { normalizeAddress } from '../shared/net/index.js'
import type { ConnectionBudget } from './connection-budget.js'
import { ShedWarner } from './shed-warner.js'

/** True: the socket may go on. False: it was reset and counted. */
export type VisitorAdmission = (socket: Socket) => boolean

export function budgetAdmission (budget: ConnectionBudget, log: Logger): VisitorAdmission {
  const warner = new ShedWarner(log)
  return (socket) => {
    if (!budget.admitVisitor()) {
      const remote = normalizeAddress(socket.remoteAddress ?? '')
      const port = socket.localPort
      socket.resetAndDestroy()
      warner.note({ reason: 'maxConnections', limit: budget.maxVisitors, relayShed: budget.shed.maxConnections, port, remote }, 'visitor shed: the relay is at maxConnections (derived from its fd limit unless set)')
      return false
    }
    socket.once('close', () => { budget.releaseVisitor() })
    return true
  }
}
