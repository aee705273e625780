// One visitor of a secret proxy (frp's `visitors:` entries), whatever its type: the interface
// every visitor kind implements, what it may use of the client (the visit opener), and the
// counters status and metrics read. A new kind (xtcp, peer to peer) is one file plus one line
// in kinds.ts, as for the relay's proxy kinds.
import type { Logger } from 'pino'
import type { VisitorConfig } from '../../shared/config/index.js'
import type { UdpDropReason } from '../../shared/udp/index.js'
import type { VisitOpener } from './visit-opener.js'

/** Why a visitor's local connection (stcp) or flow (sudp) got no visit, or lost it. */
export const VISITOR_REFUSALS = [
  /** The relay refused the visit (FORBIDDEN): wrong serverName/serverUser, secretKey or allowUsers, or the proxy is offline. */
  'refused',
  /** The relay refused it unchecked: this client's session had too many visits refused lately. */
  'rateLimited',
  /** A limit of open visits: this session's, the proxy's maxVisitors, or its client's share. */
  'limit',
  /** The proxy's client could not reach its local service. */
  'serviceDown',
  /** Not connected to the relay (or it does not accept visitors): refused here. */
  'offline',
  /** Reset for another reason (the relay or the proxy's client went away meanwhile). */
  'reset',
] as const
export type VisitorRefusal = typeof VISITOR_REFUSALS[number]

export function newVisitorRefusals (): Record<VisitorRefusal, number> {
  return Object.fromEntries(VISITOR_REFUSALS.map((r) => [r, 0])) as Record<VisitorRefusal, number>
}

/** A visitor's counters. Directions are the visitor's: in = local application → service. */
export interface VisitorStats {
  /** stcp: local connections as visits (open now, total); null for sudp. */
  streams: { active: number, total: number } | null
  /** sudp: flows (local source address and port) as visits; null for stcp. */
  flows: { active: number, total: number } | null
  bytesIn: number
  bytesOut: number
  refusals: Record<VisitorRefusal, number>
  /** sudp: datagrams dropped by reason; null for stcp. */
  udpDrops: Record<UdpDropReason, number> | null
}

export interface Visitor {
  readonly config: VisitorConfig
  /** The proxy it visits, as the relay names it (`{serverUser}.{serverName}`, or the name alone). */
  readonly target: string
  /** Opens the local listener (a TunnelError naming the address when it cannot). */
  start: () => Promise<void>
  /** Closes the listener and resets every open visit; idempotent. */
  close: () => void
  /** The address it listens on (after start), e.g. 127.0.0.1:9000; null without a listener. */
  readonly local: string | null
  stats: () => VisitorStats
}

export interface VisitorContext {
  opener: VisitOpener
  log: Logger
  /** This client's user (frp's `user`): the visitor's identity, and serverUser's default. */
  user: string
}

export interface VisitorKind {
  /** The `type` of its entries in frpc.yml. */
  readonly type: string
  create: (config: VisitorConfig, ctx: VisitorContext) => Visitor
}

/** frp's name of the proxy a visitor reaches: `{serverUser or own user}.{serverName}`, or the name alone without a user. */
export function targetName (user: string, config: VisitorConfig): string {
  const owner = config.serverUser === '' ? user : config.serverUser
  return owner === '' ? config.serverName : `${owner}.${config.serverName}`
}
