// The visitor types a client runs, keyed by their `type`: the one place a new type is added
// (xtcp, peer to peer, builds on these).
import { StcpVisitor } from './stcp.js'
import { SudpVisitor } from './sudp.js'
import type { VisitorKind } from './visitor.js'

export const BUILTIN_VISITOR_KINDS: readonly VisitorKind[] = [
  { type: 'stcp', create: (config, ctx) => new StcpVisitor(config, ctx) },
  { type: 'sudp', create: (config, ctx) => new SudpVisitor(config, ctx) },
]
