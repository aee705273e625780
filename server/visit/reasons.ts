// Why the relay refused a visit, for its own counters, status and logs (the visitor gets one
// answer for all of these: FORBIDDEN, see broker.ts). A wire-independent, bounded set of labels.

export const VISIT_REFUSALS = [
  /** No secret proxy of that name is online (or it is not a secret proxy). */
  'unknown',
  /** The visitor's type (stcp, sudp) is not the proxy's. */
  'kind',
  /** The proof does not verify: the visitor's secretKey differs. */
  'proof',
  /** The visitor's user is not in the proxy's allowUsers. */
  'user',
  /** The visitor client's address is outside the proxy's allowSources / in its denySources. */
  'source',
  /** The proof's timestamp is outside the relay's clock window (transport.maxClockSkew). */
  'stale',
  /** The proof was seen before. */
  'replay',
  /** Refused without a check: the visitor's session failed too many visits lately. */
  'rateLimited',
  /** The visitor's session holds as many visits as it may (MAX_VISITS_PER_SESSION). */
  'visitorLimit',
  /** The proxy is at its maxVisitors, or the home client at its share of visits. */
  'proxyLimit',
  /** No stream could be opened toward the home client (its session is closing or full). */
  'homeUnavailable',
  /** A relay plugin (httpPlugins, NewUserConn) rejected the visit, or could not be asked (fail closed). */
  'plugin',
] as const
export type VisitRefusal = typeof VISIT_REFUSALS[number]

/** Refusals that count as a failed guess against the visitor session's budget. */
export const FAILED_GUESSES: ReadonlySet<VisitRefusal> = new Set<VisitRefusal>(['unknown', 'kind', 'proof', 'user', 'source', 'stale', 'replay'])

export type VisitRefusalCounts = Record<VisitRefusal, number>

export function newVisitRefusalCounts (): VisitRefusalCounts {
  return Object.fromEntries(VISIT_REFUSALS.map((r) => [r, 0])) as VisitRefusalCounts
}
