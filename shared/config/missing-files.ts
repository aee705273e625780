// Files a config names (certificates, keys, CA bundles, auth.tokenSource's token file) are read and
// checked at load. A file that does not exist is refused when the relay or client starts (or
// reloads), but `tunnel verify` may run on another machine than the one that deploys (frp's own
// verify does not read them): there it is a warning. One check, two modes: the checks mark the
// issue as a missing file and the loader decides what it is.
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import type { Side } from './schema.js'

/** A warning, as checks.ts's ConfigWarning (not imported from there: checks.ts imports the checks that import this file). */
interface Warning {
  message: string
  location: ConfigLocation
}

/** What a missing file is: refused (the relay and client start, reload) or a warning (`tunnel verify`). */
export type MissingFiles = 'refuse' | 'warn'

export interface LoadOptions {
  /** A file named by a key that does not exist: refused (the default) or a warning (`tunnel verify`). */
  missingFiles?: MissingFiles
}

/** Why a file cannot be read, and whether that is because it does not exist. */
export interface FileProblem {
  problem: string
  missing: boolean
}

/** A read error as a problem with the path in it ("does not exist" for ENOENT). */
export function fileReadProblem (path: string, err: unknown): FileProblem {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT'
    ? { problem: `${path} does not exist`, missing: true }
    : { problem: `cannot read ${path} (${code ?? String(err)})`, missing: false }
}

/** An issue about a file that does not exist (only those become warnings in verify). */
export function missingFileIssue (issue: ConfigIssue, missing: boolean): ConfigIssue {
  return missing ? { ...issue, missingFile: true } : issue
}

/** Issues split by mode: in 'warn' mode the missing-file ones become warnings that say what start will do. */
export function splitMissingFiles (issues: readonly ConfigIssue[], mode: MissingFiles, side: Side): { issues: ConfigIssue[], warnings: Warning[] } {
  if (mode === 'refuse') return { issues: [...issues], warnings: [] }
  const who = side === 'server' ? 'the relay' : 'the client'
  const warnings: Warning[] = []
  const kept: ConfigIssue[] = []
  for (const i of issues) {
    if (i.missingFile !== true) {
      kept.push(i)
      continue
    }
    const path = i.location.path
    warnings.push({
      message: `${path === '' ? '' : `${path} `}names a file that is not on this machine (${i.message}): ${who} refuses to start until it exists there`,
      location: i.location,
    })
  }
  return { issues: kept, warnings }
}
