// `tunnel verify -c FILE`: detect server or client (or take --kind), load, report. Exit 0 when valid (warnings
// go to stderr), 2 on any config error, or on warnings with --strict. Writes one line per call.
import { ExitCode } from '../exit-codes.js'

import { ConfigError } from '../../shared/errors.js'
import { detectConfigKind, formatConfigWarning, parseClientConfig, parseServerConfig, readConfigFile, type ConfigKind, type ConfigWarning } from '../../shared/config/index.js'

export interface VerifyOutput {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

export interface VerifyOptions {
  strict?: boolean
  /** Check as this kind instead of the one detected from the file's keys (`--kind`). */
  kind?: ConfigKind | undefined
}

export async function runVerify (file: string, out: VerifyOutput, opts: VerifyOptions): Promise<number> {
  let warnings: ConfigWarning[]
  let kind: ConfigKind
  let included: number
  try {
    const text = await readConfigFile(file)
    kind = opts.kind ?? detectConfigKind(text, file)
    const loaded = kind === 'server' ? parseServerConfig(text, file) : parseClientConfig(text, file)
    warnings = loaded.warnings
    included = loaded.included?.length ?? 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const line of err.message.split('\n')) out.stderr(line)
    return ExitCode.REFUSED
  }
  for (const w of warnings) out.stderr(formatConfigWarning(w))
  if (opts.strict === true && warnings.length > 0) {
    out.stderr(`tunnel: ${file} has ${warnings.length} warning${warnings.length === 1 ? '' : 's'}, which --strict treats as errors`)
    return ExitCode.REFUSED
  }
  const withIncludes = included === 0 ? '' : `, with ${included} included file${included === 1 ? '' : 's'}`
  out.stdout(`tunnel: ${file} is valid (${kind} config${withIncludes})`)
  return ExitCode.OK
}
