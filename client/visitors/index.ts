// The public face of client/visitors/: the visitors of other clients' secret proxies (stcp, sudp).
export { BUILTIN_VISITOR_KINDS } from './kinds.js'
export { VisitorEntry, VisitorManager, type VisitorPhase, type VisitorProblem, type VisitorReload } from './manager.js'
export { MAX_SUDP_VISITOR_FLOWS, SUDP_REFUSED_HOLD_MS } from './sudp.js'
export { VisitOpener, type VisitRequest } from './visit-opener.js'
export { targetName, VISITOR_REFUSALS, type Visitor, type VisitorContext, type VisitorKind, type VisitorRefusal, type VisitorStats } from './visitor.js'
