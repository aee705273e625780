// The one table of exit codes. Every command returns these names and builds its --help
// epilogue from them, so the same number never means two unrelated things. Code 3 is "it ran,
// but look": what needs attention is said per command (a bench threshold crossed, a diag finding
// with --strict, a reload applied in part).
export const ExitCode = {
  OK: 0,
  /** Runtime failure: a port that cannot be bound, a relay or admin API not reachable. */
  FAILED: 1,
  /** Bad usage or config, or a refusal that retrying cannot fix (login, credentials, reload). */
  REFUSED: 2,
  /** Finished, but the result needs attention (see the command's --help). */
  ATTENTION: 3,
  /** Stopped at once by a second SIGINT/SIGTERM. */
  INTERRUPTED: 130,
} as const
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

const MEANING: Record<ExitCode, string> = {
  [ExitCode.OK]: 'ok',
  [ExitCode.FAILED]: 'runtime failure',
  [ExitCode.REFUSED]: 'bad usage or config, or refused',
  [ExitCode.ATTENTION]: 'finished, but needs attention',
  [ExitCode.INTERRUPTED]: 'stopped at once by a second signal',
}

/**
 * `Exit codes: 0 ok, 1 ..., 2 ...` for a command's --help: the codes it can return, each with
 * the table's meaning or the command's own words for it.
 */
export function exitCodesHelp (codes: Partial<Record<ExitCode, string | true>>): string {
  const parts = Object.entries(codes)
    .map(([code, text]) => [Number(code) as ExitCode, text] as const)
    .sort(([a], [b]) => a - b)
    .map(([code, text]) => `${code} ${text === true ? MEANING[code] : text}`)
  return `Exit codes: ${parts.join(', ')}.`
}
