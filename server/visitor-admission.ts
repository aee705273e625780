// The relay's fd budget for visitor connections that are not a tcp proxy's own (the http and
// https vhost ports): past the cap a connection is reset at once (no fd lingers, the visitor
// sees ECONNRESET instead of Node's silent close at fd exhaustion), counted and warned about
// (rate-limited); an admitted one gives its slot back when it closes. A source that already
// holds maxConnectionsPerSource visitor connections on the relay is shed the same way.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { normalizeAddress } from '../shared/net/index.js'
import type { ConnectionBudget } from './connection-budget.js'
import { ShedWarner } from './shed-warner.js'
import { visitorSource } from './source-counts.js'

/** True: the socket may go on. False: it was reset and counted. */
export type VisitorAdmission = (socket: Socket) => boolean

export function budgetAdmission (budget: ConnectionBudget, log: Logger): VisitorAdmission {
  const warner = new ShedWarner(log)
  const sourceWarner = new ShedWarner(log)
  return (socket) => {
    const source = visitorSource(socket.remoteAddress ?? '')
    if (budget.perSource.full(source)) {
      budget.countSourceShed('maxConnectionsPerSource')
      socket.resetAndDestroy()
      sourceWarner.note({ reason: 'maxConnectionsPerSource', limit: budget.perSource.cap, source, relayShed: budget.shedBySource.maxConnectionsPerSource, port: socket.localPort }, 'visitor shed: its source holds maxConnectionsPerSource connections on the relay')
      return false
    }
    if (!budget.admitVisitor()) {
      const remote = normalizeAddress(socket.remoteAddress ?? '')
      const port = socket.localPort
      socket.resetAndDestroy()
      warner.note({ reason: 'maxConnections', limit: budget.maxVisitors, relayShed: budget.shed.maxConnections, port, remote }, 'visitor shed: the relay is at maxConnections (derived from its fd limit unless set)')
      return false
    }
    budget.perSource.add(source)
    socket.once('close', () => {
      budget.releaseVisitor()
      budget.perSource.release(source)
    })
    return true
  }
}
