// The shape of a client's GET /api/path: its control connection's path over time as the relay's
// kernel sees it (client/path-history.ts samples it while somebody watches).

export interface PathFigures {
  mss: number | null
  pathMtu: number | null
  rttMs: number | null
  rttVarMs: number | null
  /** Retransmitted segments since the connection started (cumulative). */
  retransTotal: number | null
  bytesRetrans: number | null
  cwnd: number | null
}

export interface PathSample {
  /** ms since the epoch. */
  t: number
  /** The relay's side of the control connection; null when it could not say (see error). */
  relay: PathFigures | null
  /** The mux ping's round trip, from the client. */
  pingMs: number | null
  error: string | null
}

export interface PathReport {
  intervalMs: number
  /** Sampling goes on this long after the last request. */
  watchMs: number
  samples: PathSample[]
}
