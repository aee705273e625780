// What went wrong with one operation, in the user's terms. The kinds answer "who is the limit":
// refused (nothing listens, or the tunnel refused), reset (someone aborted the connection),
// timeout (no answer in time: a black hole, a stalled service, a full accept queue), closed
// (a clean close before the whole reply), protocol (a reply that is not what was asked for),
// status (HTTP 4xx/5xx), local (the load generator itself ran out of ports, fds or buffers).

export const ERROR_KINDS = ['refused', 'reset', 'timeout', 'closed', 'protocol', 'status', 'local', 'other'] as const
export type ErrorKind = typeof ERROR_KINDS[number]
export type ErrorCounts = Record<ErrorKind, number>

const BY_ERRNO: Readonly<Record<string, ErrorKind>> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  ETIMEDOUT: 'timeout',
  EADDRNOTAVAIL: 'local',
  EADDRINUSE: 'local',
  EMFILE: 'local',
  ENFILE: 'local',
  ENOBUFS: 'local',
  ENOMEM: 'local',
}

/** The kind of a socket error, by its errno code (never by message text). */
export function classifyError (err: unknown): ErrorKind {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return (code === undefined ? undefined : BY_ERRNO[code]) ?? 'other'
}

export function emptyErrorCounts (): ErrorCounts {
  return { refused: 0, reset: 0, timeout: 0, closed: 0, protocol: 0, status: 0, local: 0, other: 0 }
}

export function totalErrors (counts: ErrorCounts): number {
  let n = 0
  for (const k of ERROR_KINDS) n += counts[k]
  return n
}

/** A failed operation: its kind, and the first errno seen (for the report's examples). */
export class OpFailure {
  readonly kind: ErrorKind
  readonly detail: string
  constructor (kind: ErrorKind, detail: string) {
    this.kind = kind
    this.detail = detail
  }

  static from (err: unknown): OpFailure {
    const code = (err as NodeJS.ErrnoException | null)?.code
    return new OpFailure(classifyError(err), code ?? (err instanceof Error ? err.message : String(err)))
  }
}
